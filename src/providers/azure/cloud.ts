// Azure clouds: the ACR login-server suffix, the ARM endpoint, the Entra ID authority and scopes
// of each, and which cloud a run uses (--cloud, AZURE_CLOUD, or the one `az cloud set` chose).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ACR_DOMAINS } from '../../auth/acr-domains.js';
import { usageError } from '../../errors.js';

export interface AzureCloud {
  name: string;
  loginServerSuffix: string;
  /** Where a registry with network rules keeps its layers: `*<storageSuffix>` (data endpoints are `<name>.<region>.data<loginServerSuffix>`). */
  storageSuffix: string;
  armEndpoint: string;
  /** Where Entra ID signs in (DefaultAzureCredential's `authorityHost`). */
  authorityHost: string;
  /** Entra ID scope for ARM (management plane). */
  armScope: string;
  /**
   * Entra ID scope for ACR's data plane (/oauth2/exchange); accepted even where ARM-audience tokens
   * are disabled. A registry that refuses it is asked again with `armScope` (see acr-exchange.ts).
   */
  acrScope: string;
}

export const CLOUDS: Record<string, AzureCloud> = {
  azurecloud: {
    name: 'AzureCloud',
    ...ACR_DOMAINS.azurecloud,
    armEndpoint: 'https://management.azure.com',
    authorityHost: 'https://login.microsoftonline.com',
    armScope: 'https://management.azure.com/.default',
    acrScope: 'https://containerregistry.azure.net/.default',
  },
  azurechinacloud: {
    name: 'AzureChinaCloud',
    ...ACR_DOMAINS.azurechinacloud,
    armEndpoint: 'https://management.chinacloudapi.cn',
    authorityHost: 'https://login.chinacloudapi.cn',
    armScope: 'https://management.chinacloudapi.cn/.default',
    acrScope: 'https://containerregistry.azure.net/.default',
  },
  azureusgovernment: {
    name: 'AzureUSGovernment',
    ...ACR_DOMAINS.azureusgovernment,
    armEndpoint: 'https://management.usgovcloudapi.net',
    authorityHost: 'https://login.microsoftonline.us',
    armScope: 'https://management.usgovcloudapi.net/.default',
    acrScope: 'https://containerregistry.azure.net/.default',
  },
};

/** Overrides the ARM endpoint of every cloud (sovereign or private endpoints, and tests). */
export const ARM_ENDPOINT_ENV = 'ACR_IMPORT_ARM_ENDPOINT';

/** The cloud by name (case-insensitive); AzureCloud by default. */
export function cloudByName(name: string | undefined, from = '--cloud'): AzureCloud {
  if (!name) return CLOUDS.azurecloud!;
  const cloud = CLOUDS[name.toLowerCase()];
  if (!cloud) throw usageError(`Unknown cloud '${name}' (${from}).`, `Use one of: ${Object.values(CLOUDS).map((c) => c.name).join(', ')}.`);
  return cloud;
}

/**
 * The cloud of this run: `--cloud`, else `AZURE_CLOUD`, else the Azure CLI's own choice
 * (`az cloud set`: `AZURE_CLOUD_NAME`, or `[cloud] name` in `$AZURE_CONFIG_DIR/config`), else AzureCloud.
 */
export function chooseCloud(flag: string | undefined, env: NodeJS.ProcessEnv): AzureCloud {
  if (flag?.trim()) return cloudByName(flag.trim(), '--cloud');
  if (env.AZURE_CLOUD?.trim()) return cloudByName(env.AZURE_CLOUD.trim(), 'AZURE_CLOUD');
  if (env.AZURE_CLOUD_NAME?.trim()) return cloudByName(env.AZURE_CLOUD_NAME.trim(), 'AZURE_CLOUD_NAME, the Azure CLI cloud');
  const configured = azCliCloudName(env);
  return configured ? cloudByName(configured, 'the Azure CLI cloud, chosen with `az cloud set`') : CLOUDS.azurecloud!;
}

/** `[cloud] name` of the Azure CLI config file, if there is one. */
function azCliCloudName(env: NodeJS.ProcessEnv): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(env.AZURE_CONFIG_DIR || join(homedir(), '.azure'), 'config'), 'utf8');
  } catch {
    return undefined;
  }
  // One key of one section of a Python configparser file: too little to bundle an INI parser for.
  let section = '';
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1]!.trim().toLowerCase();
    else if (section === 'cloud') {
      const kv = /^name\s*[=:]\s*(.*)$/i.exec(line);
      if (kv?.[1]?.trim()) return kv[1].trim();
    }
  }
  return undefined;
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


/** True when a login server belongs to ACR in the chosen cloud (`myacr.azurecr.io` in AzureCloud). */
export function isAcrLoginServerIn(cloud: AzureCloud, host: string): boolean {
  const h = host.toLowerCase().replace(/:\d+$/, '');
  return h.endsWith(cloud.loginServerSuffix) && h.length > cloud.loginServerSuffix.length;
}

/**
 * `--name` or `--registry` as a login server: a bare name is an ACR in the chosen cloud; a value
 * with a dot, a colon or `localhost` is already a login server (any OCI registry).
 */
export function loginServerFor(name: string, cloud: AzureCloud): string {
  const v = name.trim();
  if (!v) throw usageError('The registry name is empty.');
  if (/^https?:\/\//i.test(v)) throw usageError(`'${name}' is a URL; give the registry's login server without the scheme (e.g. ${v.replace(/^https?:\/\//i, '').replace(/\/.*$/, '')}).`);
  if (/[/\s@]/.test(v)) throw usageError(`'${name}' is not a registry name or login server.`);
  if (v.includes('.') || v.includes(':') || v.toLowerCase() === 'localhost') return v.toLowerCase();
  if (!/^[a-zA-Z0-9]{5,50}$/.test(v)) {
    throw usageError(`'${name}' is not a valid registry name: ACR registry names have 5 to 50 letters and digits.`, 'To import into another registry, give its login server (for example 127.0.0.1:5000 or ghcr.io).');
  }
  return `${v.toLowerCase()}${cloud.loginServerSuffix}`;
}
