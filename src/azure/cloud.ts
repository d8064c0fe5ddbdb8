// Azure clouds: the ACR login-server suffix, the ARM endpoint and the Entra ID scopes of each.
import { usageError } from '../errors.js';

export interface AzureCloud {
  name: string;
  loginServerSuffix: string;
  armEndpoint: string;
  /** Entra ID scope for ARM (management plane). */
  armScope: string;
  /** Entra ID scope for ACR's data plane (/oauth2/exchange); accepted even where ARM-audience tokens are disabled. */
  acrScope: string;
}

export const CLOUDS: Record<string, AzureCloud> = {
  azurecloud: {
    name: 'AzureCloud',
    loginServerSuffix: '.azurecr.io',
    armEndpoint: 'https://management.azure.com',
    armScope: 'https://management.azure.com/.default',
    acrScope: 'https://containerregistry.azure.net/.default',
  },
  azurechinacloud: {
    name: 'AzureChinaCloud',
    loginServerSuffix: '.azurecr.cn',
    armEndpoint: 'https://management.chinacloudapi.cn',
    armScope: 'https://management.chinacloudapi.cn/.default',
    acrScope: 'https://containerregistry.azure.net/.default',
  },
  azureusgovernment: {
    name: 'AzureUSGovernment',
    loginServerSuffix: '.azurecr.us',
    armEndpoint: 'https://management.usgovcloudapi.net',
    armScope: 'https://management.usgovcloudapi.net/.default',
    acrScope: 'https://containerregistry.azure.net/.default',
  },
};

/** Overrides the ARM endpoint of every cloud (sovereign or private endpoints, and tests). */
export const ARM_ENDPOINT_ENV = 'ACR_IMPORT_ARM_ENDPOINT';

/** The cloud by name (case-insensitive), from `--cloud` or `AZURE_CLOUD`; AzureCloud by default. */
export function cloudByName(name: string | undefined): AzureCloud {
  if (!name) return CLOUDS.azurecloud!;
  const cloud = CLOUDS[name.toLowerCase()];
  if (!cloud) throw usageError(`Unknown cloud '${name}'.`, `Use one of: ${Object.values(CLOUDS).map((c) => c.name).join(', ')}.`);
  return cloud;
}

/** The ARM endpoint to call (no trailing slash): `ACR_IMPORT_ARM_ENDPOINT` when set, else the cloud's. */
export function armEndpointFor(cloud: AzureCloud, env: NodeJS.ProcessEnv): string {
  const override = env[ARM_ENDPOINT_ENV]?.trim();
  if (!override) return cloud.armEndpoint;
  let url: URL;
  try {
    url = new URL(override);
  } catch {
    throw usageError(`${ARM_ENDPOINT_ENV} is not a URL: '${override}'.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw usageError(`${ARM_ENDPOINT_ENV} must be an http(s) URL, not '${override}'.`);
  return override.replace(/\/+$/, '');
}

/** True when a login server belongs to ACR in any known cloud. */
export function isAcrLoginServer(host: string): boolean {
  const h = host.toLowerCase().replace(/:\d+$/, '');
  return Object.values(CLOUDS).some((c) => h.endsWith(c.loginServerSuffix));
}

/** True when a login server belongs to ACR in the chosen cloud (`myacr.azurecr.io` in AzureCloud). */
export function isAcrLoginServerIn(cloud: AzureCloud, host: string): boolean {
  const h = host.toLowerCase().replace(/:\d+$/, '');
  return h.endsWith(cloud.loginServerSuffix) && h.length > cloud.loginServerSuffix.length;
}
