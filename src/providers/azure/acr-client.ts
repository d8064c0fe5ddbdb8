// @azure/container-registry for the ACR-only extras (manifest listing, locks). Kept out of the
// copy path (see node-stack.md) and loaded only when an extra runs.
import { AcrImportError, usageError } from '../../errors.js';
import { redactText } from '../../transport/redact.js';
import type { AzureCloud } from './cloud.js';
import type { TokenCredentialLike } from './entra.js';

export type ContainerRegistryClientType = import('@azure/container-registry').ContainerRegistryClient;

/**
 * A ContainerRegistryClient for `https://<loginServer>`. The SDK speaks https only, so a registry
 * reached over plain http is refused here with a usage error.
 */
export async function createAcrClient(baseUrl: string, credential: TokenCredentialLike, cloud: AzureCloud, what: string): Promise<ContainerRegistryClientType> {
  if (!baseUrl.startsWith('https://')) {
    throw usageError(`${what} needs the registry over https; ${baseUrl} is plain http.`);
  }
  const { ContainerRegistryClient } = await import('@azure/container-registry');
  // The audience is the scope without '/.default': the SDK asks the credential for `${audience}/.default`.
  const audience = cloud.acrScope.replace(/\/\.default$/, '');
  return new ContainerRegistryClient(baseUrl, credential as never, { audience, userAgentOptions: { userAgentPrefix: 'acr-import' } });
}

/** The SDK's RestError (and others) as a typed error. */
export function acrSdkError(err: unknown, what: string): AcrImportError {
  if (err instanceof AcrImportError) return err;
  const e = err as { name?: string; statusCode?: number; code?: string; message?: string };
  if (e?.name === 'AbortError') return new AcrImportError('interrupted', `Interrupted while ${what}.`, { cause: err });
  const status = e?.statusCode;
  const message = redactText(String(e?.message ?? err)).split('\n')[0]!.slice(0, 300);
  const kind = status === 401 || status === 403 ? 'auth' : status === 404 ? 'not-found' : status === 429 || (status !== undefined && status >= 500) ? 'transient' : status === undefined && /ECONNREFUSED|ENOTFOUND|certificate|EAI_AGAIN/i.test(message) ? 'network' : 'integrity';
  return new AcrImportError(kind, `${what} failed${status ? ` (HTTP ${status})` : ''}: ${message}`, {
    hint: kind === 'auth' ? 'The identity needs a role that allows it on the registry (AcrPull to read, AcrPush or Container Registry Repository Writer to change locks).' : undefined,
    cause: err,
  });
}
