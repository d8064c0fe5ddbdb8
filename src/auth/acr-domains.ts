// ACR's domains in each Azure cloud, a table that imports nothing: the Azure provider builds its
// clouds on it and acr-refusals.ts reads it, and it loads with --help (through the cli's flag checks).
/** ACR's domains in each Azure cloud: the login-server suffix and where a registry keeps its layers. */
export const ACR_DOMAINS = {
  azurecloud: { loginServerSuffix: '.azurecr.io', storageSuffix: '.blob.core.windows.net' },
  azurechinacloud: { loginServerSuffix: '.azurecr.cn', storageSuffix: '.blob.core.chinacloudapi.cn' },
  azureusgovernment: { loginServerSuffix: '.azurecr.us', storageSuffix: '.blob.core.usgovcloudapi.net' },
} as const;

type AcrDomain = (typeof ACR_DOMAINS)[keyof typeof ACR_DOMAINS];

/** The ACR domain a login server is in (`myacr.azurecr.cn` → China's), if any. */
export function acrDomainOf(host: string): AcrDomain | undefined {
  const h = host.toLowerCase().replace(/:\d+$/, '');
  return Object.values(ACR_DOMAINS).find((d) => h.endsWith(d.loginServerSuffix) && h.length > d.loginServerSuffix.length);
}
