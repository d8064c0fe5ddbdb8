/**
 * Fixture builder: pushes images, indexes and artifacts with plain undici
 * (through HarnessClient, never through src/), and returns every digest and
 * byte a test needs to check a copy.
 *
 * Blobs are seeded pseudo-random content: fixtures share no blob unless asked
 * (`shareBaseLayer`, or the same explicit `seed`).
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { makeLayer, sha256, streamLayer, tarFiles, type Compression } from './blobgen.js';
import { HarnessClient, header, pushScope, pullScope, type RegistryTarget } from './client.js';
import { foreignLayerUrl } from './foreign-layer-server.js';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  helmConfig: 'application/vnd.cncf.helm.config.v1+json',
  helmChart: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  inToto: 'application/vnd.in-toto+json',
} as const;

/** The OCI empty descriptor: a 2-byte `{}` blob. */
export const EMPTY_JSON = Buffer.from('{}');
export const EMPTY_DESCRIPTOR: Descriptor = { mediaType: MediaTypes.ociEmpty, digest: sha256(EMPTY_JSON), size: 2 };

/** Layers at least this big are streamed (PATCH while hashing) instead of built in memory. */
export const STREAM_THRESHOLD = 8 * 1024 * 1024;

export type Flavor = 'oci' | 'docker';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
  artifactType?: string;
}

export interface LayerSpec {
  /** Bytes of the file inside the layer tar; the blob is ~1.5 KiB larger. Default 1024. */
  size?: number;
  seed?: string;
  compression?: Compression;
  /** Force streaming (default: streamed when size >= STREAM_THRESHOLD). */
  stream?: boolean;
  /**
   * A foreign / non-distributable layer: NOT pushed to the registry; the
   * manifest lists `urls` pointing at a foreign layer server (base URL given).
   */
  foreign?: { serverUrl: string; mediaType?: string };
  /** Override the descriptor media type. */
  mediaType?: string;
}

export interface ImageSpec {
  kind: 'image';
  mediaTypes?: Flavor;
  /** Default linux/amd64. */
  platform?: Platform;
  /** A count of default layers, or explicit layer specs. Default 1. */
  layers?: number | LayerSpec[];
  /** Size for counted layers. Default 1024. */
  layerSize?: number;
  seed?: string;
  /** Manifest annotations (OCI only). */
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  /** Annotations on this image's descriptor when it sits in an index. */
  descriptorAnnotations?: Record<string, string>;
}

export interface IndexSpec {
  kind: 'index';
  mediaTypes?: Flavor;
  /** Number of platforms (generated list, any count e.g. 51) or explicit list. Default 2. */
  platforms?: number | Platform[];
  /** More children after the platform images, e.g. an index for a nested index. */
  children?: FixtureSpec[];
  /** buildx-style attestation manifest per platform image. */
  attestations?: boolean;
  /** Platform images share their first layer. */
  shareBaseLayer?: boolean;
  layersPerImage?: number;
  layerSize?: number;
  seed?: string;
  annotations?: Record<string, string>;
  /** OCI index artifactType. */
  artifactType?: string;
  platform?: Platform;
  descriptorAnnotations?: Record<string, string>;
}

export interface HelmSpec {
  kind: 'helm';
  name?: string;
  version?: string;
  seed?: string;
}

export interface ArtifactSpec {
  kind: 'artifact';
  artifactType: string;
  /** Layer blobs; none gives a single empty-descriptor layer. */
  files?: Array<{ mediaType?: string; size?: number; content?: Buffer | string; title?: string }>;
  /** Default: the empty descriptor. */
  config?: { mediaType: string; content: Buffer | string };
  subject?: Descriptor;
  annotations?: Record<string, string>;
  seed?: string;
}

export type FixtureSpec = ImageSpec | IndexSpec | HelmSpec | ArtifactSpec;

export interface PushedBlob extends Descriptor {
  /** false for foreign layers (they live on the foreign server only). */
  pushed: boolean;
  diffId?: string;
  /** Content, for blobs built in memory (not for streamed ones). */
  bytes?: Buffer;
}

export interface PushedManifest {
  kind: 'image' | 'index' | 'helm' | 'artifact' | 'attestation';
  digest: string;
  mediaType: string;
  size: number;
  /** The exact bytes pushed. */
  bytes: Buffer;
  json: Record<string, unknown>;
  /** Descriptor as referenced from its parent index (with platform/annotations). */
  descriptor: Descriptor;
  platform?: Platform;
  config?: PushedBlob;
  layers: PushedBlob[];
  children: PushedManifest[];
}

export interface PushResult extends PushedManifest {
  repo: string;
  tag?: string;
  /** Tag if given, else digest. */
  reference: string;
  /** Every manifest, root first, depth-first. */
  manifests: PushedManifest[];
  /** Unique blobs (by digest), including foreign ones (pushed: false). */
  blobs: PushedBlob[];
  /** Unique pushed blob bytes + all manifest bytes: what a full copy moves. */
  totalBytes: number;
  /** Foreign layer bytes (not in the registry). */
  foreignBytes: number;
}

/** Something to push to: a RegistryTarget, a started registry, or a provided-context entry. */
export type TargetLike =
  | RegistryTarget
  | HarnessClient
  | { url: string; credentials?: { username: string; password: string }; caPem?: string };

const clients = new WeakMap<object, HarnessClient>();

/** Normalizes anything registry-shaped into a HarnessClient (cached per object). */
export function clientFor(target: TargetLike): HarnessClient {
  if (target instanceof HarnessClient) return target;
  let c = clients.get(target);
  if (!c) {
    const t = target as RegistryTarget & { credentials?: { username: string; password: string }; caPem?: string };
    c = new HarnessClient({
      url: t.url,
      username: t.username ?? t.credentials?.username,
      password: t.password ?? t.credentials?.password,
      bearer: t.bearer,
      ca: t.ca ?? t.caPem,
      dispatcher: t.dispatcher,
    });
    clients.set(target, c);
  }
  return c;
}

// ---------------------------------------------------------------------------
// platforms
// ---------------------------------------------------------------------------

const BASE_PLATFORMS: Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
  { os: 'linux', architecture: 'ppc64le' },
  { os: 'linux', architecture: 's390x' },
  { os: 'linux', architecture: '386' },
  { os: 'linux', architecture: 'riscv64' },
  { os: 'linux', architecture: 'arm', variant: 'v6' },
  { os: 'linux', architecture: 'mips64le' },
  { os: 'linux', architecture: 'loong64' },
  { os: 'linux', architecture: 'amd64', variant: 'v3' },
  { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.6414' },
  { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.2762' },
  { os: 'windows', architecture: 'arm64', 'os.version': '10.0.26100.2033' },
  { os: 'freebsd', architecture: 'amd64' },
];

/**
 * `n` distinct platforms: the common ones first, then windows/amd64 with
 * distinct os.version values (as many as asked).
 */
export function generatePlatforms(n: number): Platform[] {
  const out = BASE_PLATFORMS.slice(0, n).map((p) => ({ ...p }));
  for (let i = out.length; i < n; i++) out.push({ os: 'windows', architecture: 'amd64', 'os.version': `10.0.20348.${3000 + i}` });
  return out;
}

export const platformString = (p: Platform) =>
  `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}${p['os.version'] ? `:${p['os.version']}` : ''}`;

// ---------------------------------------------------------------------------
// low-level pushes
// ---------------------------------------------------------------------------

interface Ctx {
  client: HarnessClient;
  repo: string;
  scopes: string[];
  /** digest (or stream seed key) -> upload in flight/done, so shared blobs are pushed once per call. */
  uploads: Map<string, Promise<unknown>>;
  blobs: Map<string, PushedBlob>;
  manifests: PushedManifest[];
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
}

function limiter(max: number) {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    while (active >= max) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

async function startUpload(client: HarnessClient, repo: string, scopes: string[]): Promise<string> {
  const res = await client.expect('POST', `/v2/${repo}/blobs/uploads/`, [202], { scopes });
  const loc = header(res.headers, 'location');
  if (!loc) throw new Error('upload POST without Location');
  return client.resolve(loc);
}

function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u.toString();
}

/** Monolithic upload (POST then PUT ?digest= with the whole body). */
export async function putBlob(target: TargetLike, repo: string, data: Buffer | string): Promise<{ digest: string; size: number }> {
  const client = clientFor(target);
  const bytes = Buffer.from(data);
  const digest = sha256(bytes);
  const scopes = [pushScope(repo)];
  const loc = await startUpload(client, repo, scopes);
  await client.expect('PUT', withDigest(loc, digest), [201], {
    body: bytes,
    headers: { 'content-type': 'application/octet-stream' },
    scopes,
  });
  return { digest, size: bytes.length };
}

/**
 * Streams a blob: POST, one chunked PATCH while the generator hashes, then
 * PUT ?digest= with an empty body. Nothing is held in memory.
 */
export async function putStreamedLayer(
  target: TargetLike,
  repo: string,
  seed: string,
  contentSize: number,
  compression: Compression = 'gzip',
): Promise<{ digest: string; size: number; diffId: string }> {
  const client = clientFor(target);
  const scopes = [pushScope(repo)];
  const loc = await startUpload(client, repo, scopes);
  const layer = streamLayer(seed, contentSize, compression);
  const patch = await client.expect('PATCH', loc, [202], {
    body: layer.stream,
    headers: { 'content-type': 'application/octet-stream' },
    scopes,
  });
  const result = await layer.done;
  const next = header(patch.headers, 'location');
  if (!next) throw new Error('PATCH without Location');
  await client.expect('PUT', withDigest(client.resolve(next), result.digest), [201], { scopes, headers: { 'content-length': '0' } });
  return result;
}

export interface RawManifestResult {
  status: number;
  /** sha256 of the bytes sent. */
  digest: string;
  /** Docker-Content-Digest answered by the registry (on success). */
  registryDigest?: string;
  headers: Record<string, string | string[] | undefined>;
  /** Response body as text (error JSON on failure). */
  body: string;
}

/** PUTs arbitrary manifest bytes and reports the outcome without throwing (for odd cases). */
export async function putRawManifest(
  target: TargetLike,
  repo: string,
  ref: string,
  manifest: Buffer | string | object,
  mediaType: string,
): Promise<RawManifestResult> {
  const client = clientFor(target);
  const bytes = Buffer.isBuffer(manifest) ? manifest : Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  const res = await client.request('PUT', `/v2/${repo}/manifests/${ref || sha256(bytes)}`, {
    body: bytes,
    headers: { 'content-type': mediaType },
    scopes: [pushScope(repo)],
  });
  return {
    status: res.status,
    digest: sha256(bytes),
    registryDigest: header(res.headers, 'docker-content-digest'),
    headers: res.headers,
    body: await res.body.text(),
  };
}

/** GETs a manifest's raw bytes. */
export async function getManifest(
  target: TargetLike,
  repo: string,
  ref: string,
  accept: string[] = [MediaTypes.ociIndex, MediaTypes.ociManifest, MediaTypes.dockerManifestList, MediaTypes.dockerManifest],
): Promise<{ status: number; bytes: Buffer; mediaType?: string; digest?: string }> {
  const client = clientFor(target);
  const res = await client.request('GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: accept.join(', ') }, scopes: [pullScope(repo)] });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.status, bytes, mediaType: header(res.headers, 'content-type'), digest: header(res.headers, 'docker-content-digest') };
}

/** HEADs a blob; returns its size or undefined when missing. */
export async function blobSize(target: TargetLike, repo: string, digest: string): Promise<number | undefined> {
  const client = clientFor(target);
  const res = await client.request('HEAD', `/v2/${repo}/blobs/${digest}`, { scopes: [pullScope(repo)] });
  await res.body.dump();
  return res.status === 200 ? Number(header(res.headers, 'content-length')) : undefined;
}

async function uploadOnce(ctx: Ctx, blob: PushedBlob, push: () => Promise<void>): Promise<void> {
  let p = ctx.uploads.get(blob.digest);
  if (!p) {
    p = ctx.limit(push);
    ctx.uploads.set(blob.digest, p);
  }
  await p;
  if (!ctx.blobs.has(blob.digest)) ctx.blobs.set(blob.digest, blob);
}

async function pushBytesBlob(ctx: Ctx, mediaType: string, bytes: Buffer, extra: Partial<PushedBlob> = {}): Promise<PushedBlob> {
  const blob: PushedBlob = { mediaType, digest: sha256(bytes), size: bytes.length, pushed: true, bytes, ...extra };
  await uploadOnce(ctx, blob, async () => {
    await putBlob(ctx.client, ctx.repo, bytes);
  });
  return blob;
}

async function putManifest(ctx: Ctx, ref: string | undefined, mediaType: string, json: Record<string, unknown>): Promise<{ bytes: Buffer; digest: string }> {
  const bytes = Buffer.from(JSON.stringify(json, null, 2));
  const digest = sha256(bytes);
  const res = await ctx.client.expect('PUT', `/v2/${ctx.repo}/manifests/${ref ?? digest}`, [201], {
    body: bytes,
    headers: { 'content-type': mediaType },
    scopes: ctx.scopes,
  });
  const answered = header(res.headers, 'docker-content-digest');
  if (answered && answered !== digest) throw new Error(`registry computed ${answered} for manifest ${digest}`);
  return { bytes, digest };
}

// ---------------------------------------------------------------------------
// builders
// ---------------------------------------------------------------------------

const CREATED = '2024-01-01T00:00:00Z';

function layerMediaType(flavor: Flavor, compression: Compression, foreign: boolean): string {
  if (flavor === 'docker') {
    if (foreign) return MediaTypes.dockerForeignLayerGzip;
    return compression === 'gzip' ? MediaTypes.dockerLayerGzip : MediaTypes.dockerLayer;
  }
  if (foreign) return compression === 'gzip' ? MediaTypes.ociNondistributableGzip : MediaTypes.ociNondistributable;
  return compression === 'gzip' ? MediaTypes.ociLayerGzip : MediaTypes.ociLayer;
}

async function buildLayer(ctx: Ctx, flavor: Flavor, spec: LayerSpec, seed: string): Promise<PushedBlob> {
  const size = spec.size ?? 1024;
  const compression = spec.compression ?? 'gzip';
  const layerSeed = spec.seed ?? seed;
  if (spec.foreign) {
    const layer = makeLayer(layerSeed, size, compression);
    const blob: PushedBlob = {
      mediaType: spec.mediaType ?? spec.foreign.mediaType ?? layerMediaType(flavor, compression, true),
      digest: layer.digest,
      size: layer.size,
      urls: [foreignLayerUrl(spec.foreign.serverUrl, layerSeed, size, compression, layer.digest)],
      pushed: false,
      diffId: layer.diffId,
      bytes: layer.bytes,
    };
    if (!ctx.blobs.has(blob.digest)) ctx.blobs.set(blob.digest, blob);
    return blob;
  }
  const mediaType = spec.mediaType ?? layerMediaType(flavor, compression, false);
  if (spec.stream || size >= STREAM_THRESHOLD) {
    // Digest is only known after streaming, so dedupe by seed key instead.
    const key = `stream:${layerSeed}/${size}/${compression}`;
    let p = ctx.uploads.get(key) as ReturnType<typeof putStreamedLayer> | undefined;
    if (!p) {
      p = ctx.limit(() => putStreamedLayer(ctx.client, ctx.repo, layerSeed, size, compression));
      ctx.uploads.set(key, p);
    }
    const r = await p;
    const blob: PushedBlob = { mediaType, digest: r.digest, size: r.size, diffId: r.diffId, pushed: true };
    if (!ctx.blobs.has(blob.digest)) ctx.blobs.set(blob.digest, blob);
    return blob;
  }
  const layer = makeLayer(layerSeed, size, compression);
  return pushBytesBlob(ctx, mediaType, layer.bytes, { diffId: layer.diffId });
}

const desc = (b: Descriptor): Descriptor => {
  const d: Descriptor = { mediaType: b.mediaType, digest: b.digest, size: b.size };
  if (b.urls) d.urls = b.urls;
  if (b.annotations) d.annotations = b.annotations;
  if (b.artifactType) d.artifactType = b.artifactType;
  return d;
};

async function buildImage(ctx: Ctx, spec: ImageSpec, seed: string, ref?: string, sharedBaseSeed?: string): Promise<PushedManifest> {
  const flavor = spec.mediaTypes ?? 'oci';
  const platform = spec.platform ?? { os: 'linux', architecture: 'amd64' };
  const layerSpecs: LayerSpec[] =
    typeof spec.layers === 'object' ? spec.layers : Array.from({ length: spec.layers ?? 1 }, () => ({ size: spec.layerSize ?? 1024 }));
  const layers = await Promise.all(
    layerSpecs.map((ls, i) => buildLayer(ctx, flavor, ls, i === 0 && sharedBaseSeed ? sharedBaseSeed : `${seed}/layer${i}`)),
  );
  const config: Record<string, unknown> = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    ...(platform['os.version'] ? { 'os.version': platform['os.version'] } : {}),
    created: CREATED,
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/bin/sh'],
      Labels: { 'io.acr-import.harness.seed': seed, ...spec.labels },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: CREATED, created_by: `harness layer ${i}` })),
  };
  const configBlob = await pushBytesBlob(ctx, flavor === 'docker' ? MediaTypes.dockerConfig : MediaTypes.ociConfig, Buffer.from(JSON.stringify(config)));
  const mediaType = flavor === 'docker' ? MediaTypes.dockerManifest : MediaTypes.ociManifest;
  const json: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    config: desc(configBlob),
    layers: layers.map(desc),
  };
  if (flavor === 'oci' && spec.annotations) json.annotations = spec.annotations;
  const { bytes, digest } = await putManifest(ctx, ref, mediaType, json);
  const m: PushedManifest = {
    kind: 'image',
    digest,
    mediaType,
    size: bytes.length,
    bytes,
    json,
    descriptor: { mediaType, digest, size: bytes.length, platform, ...(spec.descriptorAnnotations ? { annotations: spec.descriptorAnnotations } : {}) },
    platform,
    config: configBlob,
    layers,
    children: [],
  };
  ctx.manifests.push(m);
  return m;
}

async function buildAttestation(ctx: Ctx, image: PushedManifest, seed: string): Promise<PushedManifest> {
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://slsa.dev/provenance/v0.2',
    subject: [{ name: `pkg:docker/harness@${seed}`, digest: { sha256: image.digest.slice('sha256:'.length) } }],
    predicate: { builder: { id: 'https://github.com/acr-import/harness' }, buildType: 'https://mobyproject.org/buildkit@v1', metadata: { seed } },
  };
  const layer = await pushBytesBlob(ctx, MediaTypes.inToto, Buffer.from(JSON.stringify(statement)), {
    annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' },
  });
  const config = { architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } };
  const configBlob = await pushBytesBlob(ctx, MediaTypes.ociConfig, Buffer.from(JSON.stringify(config)));
  const json = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: desc(configBlob), layers: [desc(layer)] };
  const { bytes, digest } = await putManifest(ctx, undefined, MediaTypes.ociManifest, json);
  const platform = { os: 'unknown', architecture: 'unknown' };
  const m: PushedManifest = {
    kind: 'attestation',
    digest,
    mediaType: MediaTypes.ociManifest,
    size: bytes.length,
    bytes,
    json,
    descriptor: {
      mediaType: MediaTypes.ociManifest,
      digest,
      size: bytes.length,
      annotations: { 'vnd.docker.reference.digest': image.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
      platform,
    },
    platform,
    config: configBlob,
    layers: [layer],
    children: [],
  };
  ctx.manifests.push(m);
  return m;
}

async function buildIndex(ctx: Ctx, spec: IndexSpec, seed: string, ref?: string): Promise<PushedManifest> {
  const flavor = spec.mediaTypes ?? 'oci';
  const platforms = typeof spec.platforms === 'object' ? spec.platforms : generatePlatforms(spec.platforms ?? 2);
  const baseSeed = spec.shareBaseLayer ? `${seed}/base` : undefined;
  const images = await Promise.all(
    platforms.map((platform, i) =>
      buildImage(
        ctx,
        { kind: 'image', mediaTypes: flavor, platform, layers: spec.layersPerImage ?? 1, layerSize: spec.layerSize ?? 1024 },
        `${seed}/p${i}`,
        undefined,
        baseSeed,
      ),
    ),
  );
  const attestations = spec.attestations ? await Promise.all(images.map((img, i) => buildAttestation(ctx, img, `${seed}/p${i}`))) : [];
  const extra = await Promise.all((spec.children ?? []).map((c, i) => buildAny(ctx, c, `${seed}/c${i}`)));
  const children = [...images, ...attestations, ...extra];
  const mediaType = flavor === 'docker' ? MediaTypes.dockerManifestList : MediaTypes.ociIndex;
  const json: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    ...(spec.artifactType && flavor === 'oci' ? { artifactType: spec.artifactType } : {}),
    manifests: children.map((c) => {
      const d: Descriptor = { mediaType: c.descriptor.mediaType, digest: c.digest, size: c.size };
      if (c.descriptor.annotations && flavor === 'oci') d.annotations = c.descriptor.annotations;
      if (c.descriptor.platform) d.platform = c.descriptor.platform;
      return d;
    }),
  };
  if (flavor === 'oci' && spec.annotations) json.annotations = spec.annotations;
  const { bytes, digest } = await putManifest(ctx, ref, mediaType, json);
  const m: PushedManifest = {
    kind: 'index',
    digest,
    mediaType,
    size: bytes.length,
    bytes,
    json,
    descriptor: {
      mediaType,
      digest,
      size: bytes.length,
      ...(spec.platform ? { platform: spec.platform } : {}),
      ...(spec.descriptorAnnotations ? { annotations: spec.descriptorAnnotations } : {}),
    },
    platform: spec.platform,
    layers: [],
    children,
  };
  ctx.manifests.push(m);
  return m;
}

async function buildHelm(ctx: Ctx, spec: HelmSpec, seed: string, ref?: string): Promise<PushedManifest> {
  const name = spec.name ?? 'harness-chart';
  const version = spec.version ?? '0.1.0';
  const chartYaml = `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: acr-import harness chart ${seed}\ntype: application\n`;
  const tgz = gzipSync(
    tarFiles([
      { name: `${name}/Chart.yaml`, content: chartYaml },
      { name: `${name}/values.yaml`, content: `seed: ${JSON.stringify(seed)}\n` },
      { name: `${name}/templates/configmap.yaml`, content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  seed: {{ .Values.seed | quote }}\n' },
    ]),
  );
  const chart = await pushBytesBlob(ctx, MediaTypes.helmChart, tgz);
  const cfg = { name, version, description: `acr-import harness chart ${seed}`, apiVersion: 'v2', type: 'application' };
  const configBlob = await pushBytesBlob(ctx, MediaTypes.helmConfig, Buffer.from(JSON.stringify(cfg)));
  const json = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: desc(configBlob),
    layers: [desc(chart)],
    annotations: {
      'org.opencontainers.image.created': CREATED,
      'org.opencontainers.image.description': cfg.description,
      'org.opencontainers.image.title': name,
      'org.opencontainers.image.version': version,
    },
  };
  const { bytes, digest } = await putManifest(ctx, ref, MediaTypes.ociManifest, json);
  const m: PushedManifest = {
    kind: 'helm',
    digest,
    mediaType: MediaTypes.ociManifest,
    size: bytes.length,
    bytes,
    json,
    descriptor: { mediaType: MediaTypes.ociManifest, digest, size: bytes.length },
    config: configBlob,
    layers: [chart],
    children: [],
  };
  ctx.manifests.push(m);
  return m;
}

async function buildArtifact(ctx: Ctx, spec: ArtifactSpec, seed: string, ref?: string): Promise<PushedManifest> {
  const configBlob = spec.config
    ? await pushBytesBlob(ctx, spec.config.mediaType, Buffer.from(spec.config.content))
    : await pushBytesBlob(ctx, MediaTypes.ociEmpty, EMPTY_JSON);
  const files = spec.files ?? [];
  const layers = files.length
    ? await Promise.all(
        files.map((f, i) =>
          pushBytesBlob(
            ctx,
            f.mediaType ?? 'application/octet-stream',
            f.content !== undefined ? Buffer.from(f.content) : makeLayer(`${seed}/file${i}`, f.size ?? 256, 'none').bytes,
            f.title ? { annotations: { 'org.opencontainers.image.title': f.title } } : {},
          ),
        ),
      )
    : [await pushBytesBlob(ctx, MediaTypes.ociEmpty, EMPTY_JSON)];
  const json: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: spec.artifactType,
    config: desc(configBlob),
    layers: layers.map(desc),
  };
  if (spec.subject) json.subject = desc(spec.subject);
  json.annotations = { 'org.opencontainers.image.created': CREATED, 'io.acr-import.harness.seed': seed, ...spec.annotations };
  const { bytes, digest } = await putManifest(ctx, ref, MediaTypes.ociManifest, json);
  const m: PushedManifest = {
    kind: 'artifact',
    digest,
    mediaType: MediaTypes.ociManifest,
    size: bytes.length,
    bytes,
    json,
    descriptor: { mediaType: MediaTypes.ociManifest, digest, size: bytes.length, artifactType: spec.artifactType },
    config: configBlob,
    layers,
    children: [],
  };
  ctx.manifests.push(m);
  return m;
}

function buildAny(ctx: Ctx, spec: FixtureSpec, seed: string, ref?: string): Promise<PushedManifest> {
  switch (spec.kind) {
    case 'image':
      return buildImage(ctx, spec, spec.seed ?? seed, ref);
    case 'index':
      return buildIndex(ctx, spec, spec.seed ?? seed, ref);
    case 'helm':
      return buildHelm(ctx, spec, spec.seed ?? seed, ref);
    case 'artifact':
      return buildArtifact(ctx, spec, spec.seed ?? seed, ref);
  }
}

/**
 * Pushes a fixture to `repo` and tags it `ref` (omit / undefined / a digest
 * string: pushed by digest only). Children are pushed by digest first.
 */
export async function pushImage(target: TargetLike, repo: string, ref: string | undefined, spec: FixtureSpec, opts: { concurrency?: number } = {}): Promise<PushResult> {
  const ctx: Ctx = {
    client: clientFor(target),
    repo,
    scopes: [pushScope(repo)],
    uploads: new Map(),
    blobs: new Map(),
    manifests: [],
    limit: limiter(opts.concurrency ?? 6),
  };
  const tag = ref && !ref.startsWith('sha256:') ? ref : undefined;
  const root = await buildAny(ctx, spec, spec.seed ?? randomUUID(), tag);
  // Depth-first order, root first (ctx.manifests is in completion order).
  const manifests: PushedManifest[] = [];
  const walk = (m: PushedManifest) => {
    manifests.push(m);
    m.children.forEach(walk);
  };
  walk(root);
  const blobs = [...ctx.blobs.values()];
  const pushedBlobBytes = blobs.filter((b) => b.pushed).reduce((a, b) => a + b.size, 0);
  const uniqueManifests = new Map(manifests.map((m) => [m.digest, m.size]));
  return {
    ...root,
    repo,
    tag,
    reference: tag ?? root.digest,
    manifests,
    blobs,
    totalBytes: pushedBlobBytes + [...uniqueManifests.values()].reduce((a, b) => a + b, 0),
    foreignBytes: blobs.filter((b) => !b.pushed).reduce((a, b) => a + b.size, 0),
  };
}
