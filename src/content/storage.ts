// The storage interface the copy engine depends on, and nothing else: a place that holds
// manifests and blobs by digest and names some of them (tags). A registry, an OCI image layout
// directory, a tar of one, a `docker save` archive and memory all implement it; the engine never
// knows which it talks to. Shaped after oras-go's ReadOnlyTarget / Target.
import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/media-types.js';
import type { RetryBudget } from '../transport/retry.js';

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface FetchedManifest extends ManifestHead {
  bytes: Buffer;
  json: Record<string, unknown>;
}

/** An upload session: where to send its bytes, and the registry's smallest chunk (0: any). */
export interface UploadSession {
  location: string;
  minChunk: number;
}

/** Where a blob's bytes come from: a fresh stream starting at `offset`, each time it is asked. */
export type BlobSource = (offset: number) => Readable;

/** What one blob transfer may spend on retries, shared by every request it makes (transport/retry.ts). */
export interface TransferOptions {
  signal?: AbortSignal;
  budget?: RetryBudget;
}

export interface PushBlobOptions extends TransferOptions {
  /** An upload session a refused mount opened, with its minimum chunk (registries only). */
  session?: UploadSession;
  /** Bytes written so far, for progress. */
  onProgress?: (bytes: number) => void;
}

export type MountResult = { mounted: true } | ({ mounted: false } & UploadSession);

/** What a copy reads from. `repository` is ignored by storages with one namespace (layouts, archives). */
export interface ReadOnlyStorage {
  /** How messages name it: 'docker.io', 'oci:/srv/images'. */
  readonly name: string;
  /** True for a registry read without credentials (ACR's limits treat it as public). */
  readonly anonymous?: boolean;
  /** Two storages with the same location share blobs: a blob can be mounted from one repository into another. */
  readonly location: string;
  /** How messages name an image here: 'docker.io/library/hello:v1', 'oci:/srv/images:hello:v1'. */
  describe(repository: string, reference: string): string;
  /** A tag or digest → the manifest's descriptor; undefined when there is none. */
  resolve(repository: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | undefined>;
  /** A manifest's exact bytes, checked against the digest when the reference is one. */
  fetchManifest(repository: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest>;
  /** A blob from `offset` on, as a stream that fails (rather than ends) when size or digest do not match. */
  fetchBlob(repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, options?: TransferOptions & { offset?: number }): Readable;
  /**
   * The manifests that refer to `digest` as their `subject` (signatures, SBOMs, attestations), as
   * listed descriptors with their artifactType; only those of `artifactTypes` when given. Absent
   * on storages that cannot hold referrers (a `docker save` archive).
   */
  referrers?(repository: string, digest: string, options?: ReferrersOptions): Promise<Descriptor[]>;
  /** Releases what opening it took (file handles, staging directories). */
  close?(): Promise<void>;
}

export interface ReferrersOptions {
  artifactTypes?: readonly string[];
  signal?: AbortSignal;
}

/** How a storage made a referrer findable from its subject. */
export type ReferrerIndexing = 'api' | 'tag-schema' | 'index';

/** What a copy writes to. The engine writes blobs, then manifests by digest, then tags, then commits. */
export interface Storage extends ReadOnlyStorage {
  /** Whether a blob is already there (a re-run sends only what is missing). */
  exists(repository: string, digest: string, signal?: AbortSignal, budget?: RetryBudget): Promise<boolean>;
  /** Writes a blob from its source; the bytes are checked against the descriptor before they count. */
  pushBlob(repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, options?: PushBlobOptions): Promise<void>;
  /** Writes a manifest by digest. */
  pushManifest(repository: string, digest: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<void>;
  /** Points a tag at a manifest, writing the manifest too if it is not there yet. */
  tag(repository: string, tag: string, manifest: { digest: string; bytes: Buffer; mediaType: string }, signal?: AbortSignal): Promise<void>;
  /** Cross-repository mount, where the storage has repositories that share blobs. */
  mount?(repository: string, digest: string, fromRepository: string, signal?: AbortSignal, budget?: RetryBudget): Promise<MountResult>;
  /**
   * After a referrer was written by digest: makes it findable from its subject where the storage
   * does not do that on its own — on a registry without the referrers API, the tag-schema index
   * `sha256-<hex>` (read, added to, written back, keeping entries written by others); in a
   * layout, an entry of index.json. Absent where writing the manifest is enough (memory).
   */
  indexReferrer?(repository: string, subject: string, referrer: Descriptor, signal?: AbortSignal): Promise<ReferrerIndexing>;
  /** Makes what was written visible at once (layouts: index.json; archives: the tar), or nothing. */
  commit?(signal?: AbortSignal): Promise<void>;
}

/** `name:tag` or `name@digest`. */
export function withReference(name: string, reference: string): string {
  return `${name}${reference.includes(':') ? '@' : ':'}${reference}`;
}
