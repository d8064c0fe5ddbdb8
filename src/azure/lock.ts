// `--lock`: after an import, make the imported manifests read-only (canWrite/canDelete false)
// through ACR's metadata API, as `az acr repository update --write-enabled false
// --delete-enabled false` does. Everything that can refuse it is checked before the import.
import { usageError } from '../errors.js';
import { acrSdkError, createAcrClient, type ContainerRegistryClientType } from './acr-client.js';
import type { AzureSession, SignIn } from './session.js';

export interface LockedManifest {
  repository: string;
  /** The digest locked (tags are resolved by the service). */
  digest: string;
  reference: string;
}

export class ManifestLocker {
  constructor(
    private readonly client: ContainerRegistryClientType,
    readonly registry: string,
  ) {}

  /** Locks each `repository@reference` (a digest, or a tag the service resolves), a few at a time. */
  async lock(items: { repository: string; reference: string }[], signal?: AbortSignal): Promise<LockedManifest[]> {
    const seen = new Set<string>();
    const todo = items.filter((i) => {
      const k = `${i.repository}@${i.reference}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    const out: LockedManifest[] = [];
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const item = todo[next++]!;
        const where = `${this.registry}/${item.repository}${item.reference.includes(':') ? '@' : ':'}${item.reference}`;
        try {
          const props = await this.client.getArtifact(item.repository, item.reference).updateManifestProperties({ canWrite: false, canDelete: false, abortSignal: signal });
          out.push({ repository: item.repository, digest: props.digest, reference: item.reference });
        } catch (err) {
          throw acrSdkError(err, `locking ${where}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, todo.length) }, worker));
    return out;
  }
}

/**
 * Checks that `--lock` can work on this target, before anything is copied: it must be an ACR
 * reached over https, signed in with Entra ID (the SDK takes a TokenCredential only).
 */
export async function prepareLock(session: AzureSession, targetServer: string, signIn: SignIn): Promise<ManifestLocker> {
  const acr = signIn.acr || (await session.isAcr(targetServer));
  if (!acr) {
    throw usageError(`--lock only works with Azure Container Registry targets, and ${targetServer} is not one.`, `Leave out --lock, or if ${targetServer} is an ACR behind another name, add --target-auth-mode entra.`);
  }
  if (!signIn.tokenCredential) {
    throw usageError(`--lock needs Entra ID sign-in to ${targetServer}, but its credentials are ${signIn.from}: ACR's metadata API client cannot use them.`, 'Sign in with Entra ID (az login, a service principal or managed identity) and give no target username/password, or pass an Entra ID access token as --target-password alone.');
  }
  const client = await createAcrClient(session.transport.baseUrl(targetServer), signIn.tokenCredential, session.cloud, '--lock');
  return new ManifestLocker(client, targetServer);
}
