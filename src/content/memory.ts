// A storage in memory, for engine tests and the conformance suite: the smallest honest
// implementation of the interface. It holds whole blobs in memory by design; nothing else does.
import { Readable } from 'node:stream';
import { AcrImportError } from '../errors.js';
import type { Descriptor } from '../oci/media-types.js';
import { checkedBlobStream } from './checked-stream.js';
import { parseManifest } from './manifest.js';
import { withReference, type BlobSource, type FetchedManifest, type ManifestHead, type PushBlobOptions, type ReferrersOptions, type Storage } from './storage.js';
import { referrerDescriptor, subjectOf, withArtifactTypes } from './referrers.js';

export class MemoryStorage implements Storage {
  readonly location: string;
  private readonly blobs = new Map<string, Buffer>();
  private readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  /** `repository:tag` → digest */
  private readonly tags = new Map<string, string>();

  constructor(readonly name = 'memory') {
    this.location = `memory:${name}`;
  }

  describe(repository: string, reference: string): string {
    return withReference(`${this.name}/${repository}`, reference);
  }

  async resolve(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const digest = reference.includes(':') ? reference : this.tags.get(`${repository}:${reference}`);
    const m = digest ? this.manifests.get(digest) : undefined;
    return m && digest ? { digest, mediaType: m.mediaType, size: m.bytes.length } : undefined;
  }

  async fetchManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const head = await this.resolve(repository, reference);
    if (!head) throw new AcrImportError('not-found', `${this.describe(repository, reference)} was not found.`);
    return parseManifest(this.manifests.get(head.digest)!.bytes, `${head.digest} in ${this.name}`, head);
  }

  fetchBlob(_repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, options: { offset?: number } = {}): Readable {
    const bytes = this.blobs.get(blob.digest);
    if (!bytes) throw new AcrImportError('not-found', `${this.name}: no blob ${blob.digest}.`);
    const offset = options.offset ?? 0;
    return checkedBlobStream(Readable.from([bytes.subarray(offset)]), blob, offset, this.name);
  }

  /** Every manifest held whose subject is `digest`: memory answers as a registry with the referrers API does. */
  async referrers(_repository: string, digest: string, options: ReferrersOptions = {}): Promise<Descriptor[]> {
    const found: Descriptor[] = [];
    for (const [d, m] of this.manifests) {
      const parsed = parseManifest(m.bytes, `${d} in ${this.name}`, { digest: d, mediaType: m.mediaType });
      if (subjectOf(parsed) === digest) found.push(referrerDescriptor(parsed));
    }
    return withArtifactTypes(found, options.artifactTypes);
  }

  async exists(_repository: string, digest: string): Promise<boolean> {
    return this.blobs.has(digest);
  }

  async pushBlob(_repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, options: PushBlobOptions = {}): Promise<void> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of checkedBlobStream(source(0), blob, 0, this.name)) {
      chunks.push(c as Buffer);
      n += (c as Buffer).length;
      options.onProgress?.(n);
    }
    this.blobs.set(blob.digest, Buffer.concat(chunks));
  }

  async pushManifest(_repository: string, digest: string, bytes: Buffer, mediaType: string): Promise<void> {
    parseManifest(bytes, `${digest} for ${this.name}`, { digest, mediaType });
    this.manifests.set(digest, { bytes, mediaType });
  }

  async tag(repository: string, tag: string, manifest: { digest: string; bytes: Buffer; mediaType: string }): Promise<void> {
    if (!this.manifests.has(manifest.digest)) await this.pushManifest(repository, manifest.digest, manifest.bytes, manifest.mediaType);
    this.tags.set(`${repository}:${tag}`, manifest.digest);
  }
}
