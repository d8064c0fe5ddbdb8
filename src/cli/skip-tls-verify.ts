// --skip-tls-verify: explicit, per registry, said out loud on stderr, and never for the Azure
// endpoints that see Entra ID tokens (sign-in and ARM), whatever the flag names.
import { armEndpointFor, CLOUDS, type AzureCloud } from '../providers/azure/cloud.js';
import { usageError } from '../errors.js';
import type { Console } from '../output/console.js';

/** Entra ID's sign-in hosts in every cloud. */
const ENTRA_HOSTS = ['login.microsoftonline.com', 'login.microsoft.com', 'login.windows.net', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn', 'login.microsoftonline.us', 'sts.windows.net'];

/** The hosts to skip verification for, checked; warns once per host. */
export function skipTlsVerifyHosts(values: string[], cloud: AzureCloud, env: NodeJS.ProcessEnv, console: Console): string[] {
  const azure = new Set([...ENTRA_HOSTS, ...Object.values(CLOUDS).map((c) => new URL(c.armEndpoint).host), new URL(armEndpointFor(cloud, env)).host]);
  const hosts = [...new Set(values.map((v) => v.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '')))];
  for (const host of hosts) {
    if (!host || host.includes('/')) throw usageError(`--skip-tls-verify takes a registry host, not '${host}'.`, 'Give the host, with its port if it has one: registry.local:5443.');
    if (azure.has(host.replace(/:443$/, ''))) throw usageError(`--skip-tls-verify cannot be used for ${host}: it is an Entra ID or Azure Resource Manager endpoint, and tokens go there.`);
    console.warn(`TLS certificates of ${host} are not verified (--skip-tls-verify): anyone on the network path can read and change what is copied. Prefer NODE_EXTRA_CA_CERTS=<ca.pem>.`);
  }
  return hosts;
}
