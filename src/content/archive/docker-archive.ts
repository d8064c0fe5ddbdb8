// `docker-archive:FILE[:REF|:@N]`, the output of `docker save`, as a read-only storage. Such an
// archive holds no registry manifest: one is built as skopeo builds it (containers/image
// docker/internal/tarfile), so both print the same digest for the same archive: a schema 2
// manifest whose layers are the uncompressed layer tars, each under the gzip layer media type
// with its diff ID and uncompressed size (a compressed layer is decompressed as it is read).
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { resolve as resolvePath } from 'node:path';
import { AcrImportError } from '../../errors.js';
import { digestOf } from '../../oci/digest.js';
import { MediaType, type Descriptor } from '../../oci/media-types.js';
import { parseReference } from '../../oci/reference.js';
import { checkedBlobStream } from '../checked-stream.js';
import { parseManifest } from '../manifest.js';
import type { FetchedManifest, ManifestHead, ReadOnlyStorage } from '../storage.js';
import { TarFiles, indexTar, normalizeEntryName } from './tar-index.js';

const CONFIG_MEDIA_TYPE = 'application/vnd.docker.container.image.v1+json';
const LAYER_MEDIA_TYPE = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

interface SaveManifestItem {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** Where a blob's bytes are in the archive, and whether they are gzip-compressed there. */
interface BlobEntry {
  path: string;
  gzip: boolean;
}

export class DockerArchiveSource implements ReadOnlyStorage {
  readonly location: string;

  private constructor(
    private readonly files: TarFiles,
    readonly name: string,
    private readonly manifest: FetchedManifest,
    private readonly blobs: Map<string, BlobEntry>,
    /** The names `docker save` recorded for the image. */
    readonly repoTags: string[],
  ) {
    this.location = `${name}@${manifest.digest}`;
  }

  /** Opens the archive and builds the manifest of the image `ref` names (a RepoTag or `@N`), or of its only image. */
  static async open(file: string, ref: string | undefined): Promise<DockerArchiveSource> {
    const name = `docker-archive:${file}`;
    const path = resolvePath(file);
    const files = new TarFiles(path, await indexTar(path, name));
    const items = parseJson<SaveManifestItem[]>(await files.read('manifest.json'), `${name}: manifest.json`);
    if (!Array.isArray(items) || !items.length) throw new AcrImportError('integrity', `${name} holds no images (its manifest.json is missing or empty); is it the output of docker save?`);
    const item = pickImage(items, ref, name);

    const configPath = normalizeEntryName(item.Config);
    const config = await files.read(configPath);
    if (!config) throw new AcrImportError('integrity', `${name}: the config ${item.Config} named in manifest.json is not in the archive.`);
    const diffIds = parseJson<{ rootfs?: { diff_ids?: string[] } }>(config, `${name}: ${item.Config}`).rootfs?.diff_ids ?? [];
    if (diffIds.length !== item.Layers.length) {
      throw new AcrImportError('integrity', `${name}: the config lists ${diffIds.length} layers and manifest.json ${item.Layers.length}.`);
    }
    const configDigest = digestOf(config);
    const blobs = new Map<string, BlobEntry>([[configDigest, { path: configPath, gzip: false }]]);
    const layers: Descriptor[] = [];
    for (const [i, layer] of item.Layers.entries()) {
      const path = normalizeEntryName(layer);
      if (!files.entries.has(path)) throw new AcrImportError('integrity', `${name}: the layer ${layer} named in manifest.json is not in the archive.`);
      const gzip = await isGzip(files, path);
      const size = gzip ? await gunzippedSize(files, path) : files.entries.get(path)!.size;
      blobs.set(diffIds[i]!, { path, gzip });
      layers.push({ mediaType: LAYER_MEDIA_TYPE, size, digest: diffIds[i]! });
    }
    // Key order and compact form as Go's encoding/json writes them, so the digest is skopeo's.
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { mediaType: CONFIG_MEDIA_TYPE, size: config.length, digest: configDigest },
        layers,
      }),
    );
    return new DockerArchiveSource(files, name, parseManifest(bytes, name), blobs, item.RepoTags ?? []);
  }

  /** The digest of the built manifest: the only manifest here, whatever the reference. */
  get digest(): string {
    return this.manifest.digest;
  }

  describe(): string {
    return this.name;
  }

  async resolve(_repository: string, reference: string): Promise<ManifestHead | undefined> {
    const m = this.manifest;
    return !reference.includes(':') || reference === m.digest ? { digest: m.digest, mediaType: m.mediaType, size: m.size } : undefined;
  }

  async fetchManifest(repository: string, reference: string): Promise<FetchedManifest> {
    if (!(await this.resolve(repository, reference))) throw new AcrImportError('not-found', `${this.name} has no manifest ${reference}.`);
    return this.manifest;
  }

  fetchBlob(_repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, options: { offset?: number } = {}): Readable {
    const entry = this.blobs.get(blob.digest);
    if (!entry) throw new AcrImportError('not-found', `Blob ${blob.digest} is not in ${this.name}.`);
    const offset = options.offset ?? 0;
    if (!entry.gzip) return checkedBlobStream(this.files.stream(entry.path, offset), blob, offset, this.name);
    // A compressed layer cannot be entered midway: decompress from the start and skip.
    const raw = this.files.stream(entry.path, 0);
    const gunzip = createGunzip();
    raw.once('error', (err) => gunzip.destroy(err));
    return checkedBlobStream(skipBytes(raw.pipe(gunzip), offset), blob, offset, this.name);
  }
}

function pickImage(items: SaveManifestItem[], ref: string | undefined, name: string): SaveManifestItem {
  const tags = items.map((it) => it.RepoTags ?? []).flat();
  if (ref === undefined) {
    if (items.length === 1) return items[0]!;
    throw new AcrImportError('usage', `${name} holds ${items.length} images; say which one (${name}:REPO:TAG or ${name}:@N).`, { hint: tags.length ? `It holds: ${tags.join(', ')}.` : undefined });
  }
  const index = /^@(\d+)$/.exec(ref);
  if (index) {
    const item = items[Number(index[1])];
    if (!item) throw new AcrImportError('not-found', `${name} has no image @${index[1]}: it holds ${items.length} (@0 to @${items.length - 1}).`);
    return item;
  }
  // Names compare as docker normalises them: 'hello:v1' is 'docker.io/library/hello:v1'.
  const wanted = normalized(ref);
  const item = items.find((it) => (it.RepoTags ?? []).some((t) => normalized(t) === wanted));
  if (!item) throw new AcrImportError('not-found', `${name} has no image named ${ref}.`, { hint: tags.length ? `It holds: ${tags.join(', ')}.` : undefined });
  return item;
}

function normalized(ref: string): string {
  const r = parseReference(ref);
  return `${r.registry}/${r.repository}:${r.tag ?? 'latest'}`;
}

function parseJson<T>(bytes: Buffer | undefined, where: string): T {
  if (!bytes) throw new AcrImportError('integrity', `${where} is missing; is this the output of docker save?`);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new AcrImportError('integrity', `${where} is not valid JSON.`);
  }
}

async function isGzip(files: TarFiles, path: string): Promise<boolean> {
  const e = files.entries.get(path)!;
  if (e.size < 2) return false;
  for await (const c of files.stream(path, 0)) return (c as Buffer)[0] === 0x1f && (c as Buffer)[1] === 0x8b;
  return false;
}

/** A compressed layer's uncompressed size, counted by decompressing it as a stream. */
async function gunzippedSize(files: TarFiles, path: string): Promise<number> {
  let n = 0;
  await pipeline(files.stream(path, 0), createGunzip(), async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) n += c.length;
  });
  return n;
}

function skipBytes(input: Readable, skip: number): Readable {
  if (skip === 0) return input;
  let left = skip;
  const skipper = new Transform({
    transform(chunk: Buffer, _enc, done) {
      const n = Math.min(left, chunk.length);
      left -= n;
      done(null, n === chunk.length ? undefined : chunk.subarray(n));
    },
  });
  input.once('error', (err) => skipper.destroy(err));
  return input.pipe(skipper);
}
