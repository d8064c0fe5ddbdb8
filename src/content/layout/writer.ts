// Writing an OCI image layout. Blobs and manifests go to a temporary name and are renamed into
// `blobs/` only once their size and digest are checked, so a blob there is always whole; tags
// are kept aside and written into index.json at commit, atomically, beside the images the
// layout already holds. An interrupted export leaves the previous index.json: re-running it
// skips the blobs already written.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AcrImportError } from '../../errors.js';
import { digestOf } from '../../oci/digest.js';
import { MediaType, type Descriptor } from '../../oci/media-types.js';
import { temporaryNameFor, writeFileAtomic } from '../atomic-file.js';
import { checkedBlobStream } from '../checked-stream.js';
import type { BlobSource, PushBlobOptions, Storage } from '../storage.js';
import { DirectoryFiles, type LayoutFiles } from './files.js';
import { LAYOUT_VERSION, LayoutReader, REF_NAME, blobPath, refName } from './reader.js';

export class LayoutStorage extends LayoutReader implements Storage {
  /** ref name → the manifest it is to name, written at commit. */
  private readonly pendingTags = new Map<string, Descriptor>();
  /** Referrers written by digest, listed in index.json at commit (untagged entries, as oras lists them). */
  private readonly pendingReferrers = new Map<string, Descriptor>();

  constructor(
    readonly dir: string,
    name = `oci:${dir}`,
    /** What is read: the directory, or (archives) the directory over the archive's entries. */
    files: LayoutFiles = new DirectoryFiles(dir),
  ) {
    super(files, name, `oci:${dir}`);
  }

  async exists(_repository: string, digest: string): Promise<boolean> {
    return this.files.has(blobPath(digest));
  }

  async pushBlob(_repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, options: PushBlobOptions = {}): Promise<void> {
    const path = join(this.dir, blobPath(blob.digest));
    await mkdir(dirname(path), { recursive: true });
    const tmp = temporaryNameFor(path);
    let written = 0;
    const progress = new Transform({
      transform(chunk: Buffer, _enc, done) {
        written += chunk.length;
        options.onProgress?.(written);
        done(null, chunk);
      },
    });
    try {
      // Checked here as well as at the source: what lands in blobs/ must be what its name says.
      await pipeline(checkedBlobStream(source(0), blob, 0, this.name), progress, createWriteStream(tmp), { signal: options.signal });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async pushManifest(_repository: string, digest: string, bytes: Buffer): Promise<void> {
    const got = digestOf(bytes, digest.split(':')[0]);
    if (got !== digest) throw new AcrImportError('integrity', `A manifest given as ${digest} hashes to ${got}; not written to ${this.name}.`);
    const path = join(this.dir, blobPath(digest));
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, bytes);
  }

  async tag(repository: string, tag: string, manifest: { digest: string; bytes: Buffer; mediaType: string }): Promise<void> {
    if (!(await this.exists(repository, manifest.digest))) await this.pushManifest(repository, manifest.digest, manifest.bytes);
    this.pendingTags.set(refName(repository, tag), { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length });
  }

  async indexReferrer(_repository: string, _subject: string, referrer: Descriptor): Promise<'index'> {
    this.pendingReferrers.set(referrer.digest, referrer);
    return 'index';
  }

  /** Whether commit has anything to write. */
  protected get hasPending(): boolean {
    return this.pendingTags.size > 0 || this.pendingReferrers.size > 0;
  }

  /** Writes `oci-layout` if it is missing and index.json with the new tags, keeping every other entry. */
  async commit(): Promise<void> {
    if (!this.hasPending) return;
    await mkdir(this.dir, { recursive: true });
    const layoutFile = join(this.dir, 'oci-layout');
    if (!(await stat(layoutFile).catch(() => undefined))) await writeFileAtomic(layoutFile, JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
    const index = await this.readIndex(true);
    const kept = index.manifests.filter((m) => !this.pendingTags.has(m.annotations?.[REF_NAME] ?? ''));
    const added = [...this.pendingTags].map(([name, d]) => ({ ...d, annotations: { [REF_NAME]: name } }));
    const listed = new Set(kept.filter((m) => !m.annotations?.[REF_NAME]).map((m) => m.digest));
    const referrers = [...this.pendingReferrers.values()].filter((d) => !listed.has(d.digest));
    const next = { ...index, schemaVersion: 2, mediaType: index.mediaType ?? MediaType.ociIndex, manifests: [...kept, ...referrers, ...added] };
    await writeFileAtomic(join(this.dir, 'index.json'), JSON.stringify(next));
    this.pendingTags.clear();
    this.pendingReferrers.clear();
  }
}
