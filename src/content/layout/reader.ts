// Reading an OCI image layout (image-spec "image-layout.md", 1.1): `oci-layout`, `index.json`
// and `blobs/<alg>/<hex>`. Images are named by the `org.opencontainers.image.ref.name`
// annotation of their index.json entry; a layout has one namespace, so repositories are joined
// into that name (`repo:tag`), or absent for a bare tag as skopeo writes it (`oci:DIR:tag`).
import type { Readable } from 'node:stream';
import { AcrImportError } from '../../errors.js';
import { MediaType, type Descriptor } from '../../oci/media-types.js';
import { checkedBlobStream } from '../checked-stream.js';
import { parseManifest } from '../manifest.js';
import type { FetchedManifest, ManifestHead, ReadOnlyStorage, ReferrersOptions } from '../storage.js';
import { isCosignTag, referrerDescriptor, referrersFromTag, subjectOf, withArtifactTypes } from '../referrers.js';
import type { LayoutFiles } from './files.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';
export const LAYOUT_VERSION = '1.0.0';

export interface LayoutIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  [other: string]: unknown;
}

const DIGEST = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** Where a blob lives in a layout; refuses a digest that could escape `blobs/`. */
export function blobPath(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new AcrImportError('integrity', `'${digest}' is not a digest.`);
  return `blobs/${m[1]}/${m[2]}`;
}

/** The ref name an image gets in a layout: `repo:tag`, or the bare tag when there is no repository. */
export function refName(repository: string, tag: string): string {
  return repository ? `${repository}:${tag}` : tag;
}

export class LayoutReader implements ReadOnlyStorage {
  /** Manifest digest → the subject it refers to ('' for none): blobs never change, so each is read once. */
  private readonly subjects = new Map<string, string>();

  constructor(
    protected readonly files: LayoutFiles,
    readonly name: string,
    readonly location: string,
  ) {}

  /** index.json; an empty index when `optional` and the layout is new. */
  async readIndex(optional = false): Promise<LayoutIndex> {
    const bytes = await this.files.read('index.json');
    if (!bytes) {
      if (optional) return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
      throw new AcrImportError('not-found', `${this.name} is not an OCI image layout: it has no index.json.`);
    }
    let index: LayoutIndex;
    try {
      index = JSON.parse(bytes.toString('utf8')) as LayoutIndex;
    } catch {
      throw new AcrImportError('integrity', `The index.json of ${this.name} is not valid JSON.`);
    }
    if (!index || !Array.isArray(index.manifests)) throw new AcrImportError('integrity', `The index.json of ${this.name} has no 'manifests' list.`);
    return index;
  }

  /** The reference of the one image a layout holds, for a source given without a tag or digest. */
  async soleReference(): Promise<string> {
    // Referrers listed beside the image (signatures, SBOMs), and cosign's tags, are not images to choose from.
    const entries = (await this.readIndex()).manifests;
    const manifests: Descriptor[] = [];
    for (const m of entries) if (entries.length === 1 || !(isCosignTag(m.annotations?.[REF_NAME] ?? '') || (await this.subjectOf(m)))) manifests.push(m);
    if (manifests.length === 1) return manifests[0]!.digest;
    const names = manifests.map((m) => m.annotations?.[REF_NAME] ?? m.digest);
    throw new AcrImportError('usage', `${this.name} holds ${manifests.length} images; say which one (${this.name}:NAME or @DIGEST).`, {
      hint: names.length ? `It holds: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}.` : undefined,
    });
  }

  describe(repository: string, reference: string): string {
    return DIGEST.test(reference) ? `${this.name}@${reference}` : `${this.name}:${refName(repository, reference)}`;
  }

  async resolve(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const { manifests } = await this.readIndex(true);
    if (DIGEST.test(reference)) {
      const listed = manifests.find((m) => m.digest === reference);
      if (listed) return { digest: listed.digest, mediaType: listed.mediaType, size: listed.size };
      const bytes = await this.files.read(blobPath(reference));
      if (!bytes) return undefined;
      const m = parseManifest(bytes, `${reference} in ${this.name}`, { digest: reference });
      return { digest: m.digest, mediaType: m.mediaType, size: m.size };
    }
    const name = refName(repository, reference);
    // The last entry wins, as in skopeo: a re-tag appends rather than edits.
    const entry = manifests.filter((m) => m.annotations?.[REF_NAME] === name).at(-1);
    return entry ? { digest: entry.digest, mediaType: entry.mediaType, size: entry.size } : undefined;
  }

  async fetchManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const head = await this.resolve(repository, reference);
    const where = this.describe(repository, reference);
    if (!head) throw new AcrImportError('not-found', `${where} was not found.`);
    const bytes = await this.files.read(blobPath(head.digest));
    if (!bytes) throw new AcrImportError('not-found', `${where}: its manifest ${head.digest} is missing from the layout's blobs.`);
    return parseManifest(bytes, where, head);
  }

  /**
   * A layout lists referrers as index.json entries of their own (as oras writes them; a layout
   * has no API to ask), or under the tag schema's `sha256-<hex>` name: both are read.
   */
  async referrers(repository: string, digest: string, options: ReferrersOptions = {}): Promise<Descriptor[]> {
    const found = new Map<string, Descriptor>();
    for (const entry of (await this.readIndex(true)).manifests) {
      if (found.has(entry.digest) || (await this.subjectOf(entry)) !== digest) continue;
      const m = parseManifest((await this.files.read(blobPath(entry.digest)))!, `${entry.digest} in ${this.name}`, entry);
      found.set(m.digest, { ...referrerDescriptor(m), ...(entry.artifactType ? { artifactType: entry.artifactType } : {}) });
    }
    for (const d of await referrersFromTag(this, repository, digest, options.signal)) if (!found.has(d.digest)) found.set(d.digest, d);
    return withArtifactTypes([...found.values()], options.artifactTypes);
  }

  /** The subject an index.json entry's manifest refers to ('' for none, or a manifest missing from blobs/). */
  private async subjectOf(entry: Descriptor): Promise<string> {
    let subject = this.subjects.get(entry.digest);
    if (subject === undefined) {
      const bytes = await this.files.read(blobPath(entry.digest));
      subject = (bytes && subjectOf(parseManifest(bytes, `${entry.digest} in ${this.name}`, entry))) || '';
      this.subjects.set(entry.digest, subject);
    }
    return subject;
  }

  fetchBlob(_repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, options: { offset?: number } = {}): Readable {
    const offset = options.offset ?? 0;
    return checkedBlobStream(this.files.stream(blobPath(blob.digest), offset), blob, offset, this.name);
  }
}
