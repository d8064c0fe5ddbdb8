// `--lock`: after an import, make the imported manifests read-only (canWrite/canDelete false)
// through ACR's metadata API, as `az acr repository update --write-enabled false
// --delete-enabled false` does. Everything that can refuse it is checked before the import.
import { usageError } from '../../errors.js';
import type { ImportPlan, ImportTarget } from '../../copy/plan.js';
import type { Logger } from '../../logger.js';
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

  /**
   * After a client-side import: locks every manifest of the image (an index and its platform
   * manifests) in each target repository; with --dry-run only says what it would lock.
   */
  async afterImport(plan: ImportPlan, targets: ImportTarget[], o: { dryRun: boolean; console: Logger; signal?: AbortSignal }): Promise<LockedManifest[] | undefined> {
    // The plan lists every manifest it walked; when the target already had the image it walked
    // none, and the service tells the platform manifests of the index instead.
    const walked = plan.manifests.length > 0;
    const digests = walked ? plan.manifests.map((m) => m.digest).reverse() : [plan.digest];
    const repositories = [...new Set(targets.map((t) => t.repository))];
    const items = repositories.flatMap((repository) => digests.map((reference) => ({ repository, reference })));
    if (o.dryRun) {
      o.console.info(`  --lock: would lock ${walked ? `${items.length} manifest(s)` : 'the image and its platform manifests'} in ${repositories.join(', ')} (canWrite, canDelete: false)`);
      return undefined;
    }
    const locked = await this.lock(items, o.signal, { withPlatforms: !walked });
    o.console.info(`  Locked ${locked.length} manifest(s) in ${this.registry} (${repositories.join(', ')}): canWrite and canDelete are false.`);
    return locked;
  }

  /**
   * Locks each `repository@reference` (a digest, or a tag the service resolves), a few at a time.
   * With `withPlatforms`, the manifests an index lists (ACR's related artifacts) are locked too.
   */
  async lock(items: { repository: string; reference: string }[], signal?: AbortSignal, o: { withPlatforms?: boolean } = {}): Promise<LockedManifest[]> {
    const seen = new Set<string>();
    const out: LockedManifest[] = [];
    let batch = items;
    // Nested indexes are rare and shallow: a few rounds are enough.
    for (let depth = 0; batch.length && depth < 4; depth++) {
      const todo = batch.filter((i) => {
        const k = `${i.repository}@${i.reference}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
      const children: { repository: string; reference: string }[] = [];
      let next = 0;
      const worker = async () => {
        while (next < todo.length) {
          const item = todo[next++]!;
          const where = `${this.registry}/${item.repository}${item.reference.includes(':') ? '@' : ':'}${item.reference}`;
          try {
            const props = await this.client.getArtifact(item.repository, item.reference).updateManifestProperties({ canWrite: false, canDelete: false, abortSignal: signal });
            seen.add(`${item.repository}@${props.digest}`);
            out.push({ repository: item.repository, digest: props.digest, reference: item.reference });
            if (o.withPlatforms) for (const r of props.relatedArtifacts ?? []) children.push({ repository: item.repository, reference: r.digest });
          } catch (err) {
            throw acrSdkError(err, `locking ${where}`);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, todo.length) }, worker));
      batch = children;
    }
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
  const client = await createAcrClient(await session.baseUrl(targetServer), signIn.tokenCredential, session.cloud, '--lock');
  return new ManifestLocker(client, targetServer);
}
