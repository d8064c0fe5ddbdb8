// The registry as a storage: a thin adapter over RegistryClient, which keeps the HTTP details
// (uploads, resumes, mounts, tokens). Repositories are real here; mounts work within a registry.
import type { Readable } from 'node:stream';
import type { RegistryClient, UploadOptions } from './client.js';
import type { Descriptor } from '../../oci/media-types.js';
import type { RetryBudget } from '../../transport/retry.js';
import { withReference, type BlobSource, type FetchedManifest, type ManifestHead, type MountResult, type PushBlobOptions, type ReferrerIndexing, type ReferrersOptions, type Storage, type TransferOptions } from '../storage.js';
import { addToTagIndex, referrersFromTag, referrersTag, withArtifactTypes } from '../referrers.js';
import { MediaType } from '../../oci/media-types.js';

export type RegistryUploadOptions = Omit<UploadOptions, 'location' | 'minChunk' | 'budget' | 'signal' | 'onProgress'>;

export class RegistryStorage implements Storage {
  /** Per repository: whether the registry answers the referrers API there (asked once). */
  private readonly referrersApi = new Map<string, Promise<boolean>>();
  /** Per tag-schema tag: the read-modify-write in progress, so this process's own updates never overwrite each other. */
  private readonly tagIndexUpdates = new Map<string, Promise<unknown>>();

  constructor(
    readonly client: RegistryClient,
    /** How uploads are cut (monolithic, streamed, chunked). */
    private readonly upload: RegistryUploadOptions = {},
  ) {}

  get name(): string {
    return this.client.registry;
  }

  get anonymous(): boolean {
    return this.client.auth.credential.kind === 'anonymous';
  }

  get location(): string {
    return this.client.baseUrl;
  }

  describe(repository: string, reference: string): string {
    return withReference(`${this.name}/${repository}`, reference);
  }

  resolve(repository: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | undefined> {
    return this.client.headManifest(repository, reference, signal);
  }

  fetchManifest(repository: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    return this.client.getManifest(repository, reference, signal);
  }

  fetchBlob(repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, options?: TransferOptions & { offset?: number }): Readable {
    return this.client.getBlob(repository, blob, options);
  }

  exists(repository: string, digest: string, signal?: AbortSignal, budget?: RetryBudget): Promise<boolean> {
    return this.client.hasBlob(repository, digest, signal, budget);
  }

  pushBlob(repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, options: PushBlobOptions = {}): Promise<void> {
    const { session, ...rest } = options;
    return this.client.uploadBlob(repository, blob, source, { ...this.upload, ...rest, location: session?.location, minChunk: session?.minChunk });
  }

  async pushManifest(repository: string, digest: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<void> {
    await this.client.putManifest(repository, digest, bytes, mediaType, signal);
  }

  async tag(repository: string, tag: string, manifest: { bytes: Buffer; mediaType: string }, signal?: AbortSignal): Promise<void> {
    // A registry takes the manifest's bytes under the tag: one PUT writes both.
    await this.client.putManifest(repository, tag, manifest.bytes, manifest.mediaType, signal);
  }

  /** The referrers API; on a registry without it, the tag schema's `sha256-<hex>` index. */
  async referrers(repository: string, digest: string, options: ReferrersOptions = {}): Promise<Descriptor[]> {
    const listed = await this.client.listReferrers(repository, digest, options);
    this.referrersApi.set(repository, Promise.resolve(listed !== undefined));
    return withArtifactTypes(listed ?? (await referrersFromTag(this, repository, digest, options.signal)), options.artifactTypes);
  }

  async indexReferrer(repository: string, subject: string, referrer: Descriptor, signal?: AbortSignal): Promise<ReferrerIndexing> {
    let api = this.referrersApi.get(repository);
    if (!api) {
      api = this.client.listReferrers(repository, subject, { signal }).then((l) => l !== undefined);
      this.referrersApi.set(repository, api);
    }
    // A registry with the API lists the manifest from its subject as it is written.
    if (await api) return 'api';
    const tag = referrersTag(subject);
    const key = `${repository}:${tag}`;
    const update = (this.tagIndexUpdates.get(key) ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        const existing = (await this.resolve(repository, tag, signal)) ? await this.fetchManifest(repository, tag, signal) : undefined;
        const bytes = addToTagIndex(existing, referrer);
        if (bytes) await this.client.putManifest(repository, tag, bytes, existing?.mediaType ?? MediaType.ociIndex, signal);
      });
    this.tagIndexUpdates.set(key, update);
    await update;
    return 'tag-schema';
  }

  mount(repository: string, digest: string, fromRepository: string, signal?: AbortSignal, budget?: RetryBudget): Promise<MountResult> {
    return this.client.mountBlob(repository, digest, fromRepository, signal, budget);
  }
}
