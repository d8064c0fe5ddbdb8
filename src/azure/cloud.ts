// Azure clouds: the ACR login-server suffix and the ARM endpoint of each.
import { usageError } from '../errors.js';

export interface AzureCloud {
  name: string;
  loginServerSuffix: string;
  armEndpoint: string;
}

export const CLOUDS: Record<string, AzureCloud> = {
  azurecloud: { name: 'AzureCloud', loginServerSuffix: '.azurecr.io', armEndpoint: 'https://management.azure.com' },
  azurechinacloud: { name: 'AzureChinaCloud', loginServerSuffix: '.azurecr.cn', armEndpoint: 'https://management.chinacloudapi.cn' },
  azureusgovernment: { name: 'AzureUSGovernment', loginServerSuffix: '.azurecr.us', armEndpoint: 'https://management.usgovcloudapi.net' },
};

/** The cloud by name (case-insensitive), from `--cloud` or `AZURE_CLOUD`; AzureCloud by default. */
export function cloudByName(name: string | undefined): AzureCloud {
  if (!name) return CLOUDS.azurecloud!;
  const cloud = CLOUDS[name.toLowerCase()];
  if (!cloud) throw usageError(`Unknown cloud '${name}'.`, `Use one of: ${Object.values(CLOUDS).map((c) => c.name).join(', ')}.`);
  return cloud;
}

/** True when a login server belongs to ACR in any known cloud. */
export function isAcrLoginServer(host: string): boolean {
  const h = host.toLowerCase().replace(/:\d+$/, '');
  return Object.values(CLOUDS).some((c) => h.endsWith(c.loginServerSuffix));
}
