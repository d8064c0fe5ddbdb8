// A storage that hands every read to another: the base of the sync's wrappers (a metered source,
// a shared target), which change one or two operations and pass the rest on.
import type { Readable } from 'node:stream';
import type { Descriptor } from '../../oci/media-types.js';
import type { FetchedManifest, ManifestHead, ReadOnlyStorage, TransferOptions } from '../../content/storage.js';

export class ForwardingStorage<S extends ReadOnlyStorage> implements ReadOnlyStorage {
  /** Present exactly when the wrapped storage has it: the engine asks whether a storage can. */
  readonly referrers?: ReadOnlyStorage['referrers'];

  constructor(protected readonly inner: S) {
    if (inner.referrers) this.referrers = inner.referrers.bind(inner);
  }

  get name(): string {
    return this.inner.name;
  }

  get anonymous(): boolean | undefined {
    return this.inner.anonymous;
  }

  get location(): string {
    return this.inner.location;
  }

  describe(repository: string, reference: string): string {
    return this.inner.describe(repository, reference);
  }

  resolve(repository: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | undefined> {
    return this.inner.resolve(repository, reference, signal);
  }

  fetchManifest(repository: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    return this.inner.fetchManifest(repository, reference, signal);
  }

  fetchBlob(repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, options?: TransferOptions & { offset?: number }): Readable {
    return this.inner.fetchBlob(repository, blob, options);
  }
}
