// The copy engine over the storage interface alone: memory to memory, no registry, no network.
// A recording target shows the order the engine promises: blobs, then manifests by digest
// (children before their index), then tags, then one commit.
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { executePlan, transferOrder } from '../../src/copy/execute.js';
import { planImport, type ManifestNode } from '../../src/copy/plan.js';
import { MemoryStorage } from '../../src/content/memory.js';
import type { BlobSource, PushBlobOptions } from '../../src/content/storage.js';
import { MediaType, type Descriptor } from '../../src/oci/media-types.js';
import { Transport } from '../../src/transport/http.js';
import { seededBytes, sha256 } from '../harness/index.js';

class RecordingStorage extends MemoryStorage {
  readonly calls: string[] = [];
  override async pushBlob(repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, options?: PushBlobOptions) {
    this.calls.push(`blob ${blob.digest}`);
    return super.pushBlob(repository, blob, source, options);
  }
  override async pushManifest(repository: string, digest: string, bytes: Buffer, mediaType: string) {
    this.calls.push(`manifest ${digest}`);
    return super.pushManifest(repository, digest, bytes, mediaType);
  }
  override async tag(repository: string, tag: string, manifest: { digest: string; bytes: Buffer; mediaType: string }) {
    this.calls.push(`tag ${tag}`);
    return super.tag(repository, tag, manifest);
  }
  async commit() {
    this.calls.push('commit');
  }
}

const json = (o: object) => Buffer.from(JSON.stringify(o));
const put = (s: MemoryStorage, bytes: Buffer) => s.pushBlob('app', { digest: sha256(bytes), size: bytes.length }, () => Readable.from([bytes]));

/** An index of two images sharing a base layer, written into `s` as `app:v1`. */
async function indexInto(s: MemoryStorage) {
  const base = seededBytes('base', 300_000);
  const images = [];
  for (const arch of ['amd64', 'arm64']) {
    const layer = seededBytes(arch, 100_000);
    const config = json({ architecture: arch, os: 'linux' });
    for (const b of [base, layer, config]) await put(s, b);
    const blob = (mediaType: string, b: Buffer) => ({ mediaType, digest: sha256(b), size: b.length });
    const manifest = json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: blob('application/vnd.oci.image.config.v1+json', config), layers: [base, layer].map((b) => blob('application/vnd.oci.image.layer.v1.tar', b)) });
    await s.pushManifest('app', sha256(manifest), manifest, MediaType.ociManifest);
    images.push({ mediaType: MediaType.ociManifest, digest: sha256(manifest), size: manifest.length, platform: { architecture: arch, os: 'linux' } });
  }
  const index = json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: images });
  await s.tag('app', 'v1', { digest: sha256(index), bytes: index, mediaType: MediaType.ociIndex });
  return { index, images };
}

const transport = new Transport();
afterAll(() => transport.close());

async function copy(source: MemoryStorage, target: MemoryStorage) {
  const plan = await planImport(source, target, { sourceRepository: 'app', sourceReference: 'v1', targets: [{ repository: 'copy', tag: 'v1' }], force: false, maxManifests: 50, maxLayerSize: 2 ** 31, includeForeignLayers: false, concurrency: 4 });
  return { plan, stats: await executePlan(source, target, plan, { sourceRepository: 'app', concurrency: 4, transport }) };
}

describe('the copy engine over memory storages', () => {
  it('copies an index byte for byte: blobs, then each image, then the index with its tag, then one commit', async () => {
    const source = new MemoryStorage('source');
    const target = new RecordingStorage('target');
    const { index, images } = await indexInto(source);
    const { stats } = await copy(source, target);
    expect((await target.fetchManifest('copy', 'v1')).bytes.equals(index)).toBe(true);
    expect(stats).toMatchObject({ blobsUploaded: 5, manifestsPushed: 2, tagsPushed: 1 });

    const at = (call: string) => target.calls.indexOf(call);
    const blobs = target.calls.filter((c) => c.startsWith('blob '));
    expect(blobs).toHaveLength(5);
    for (const image of images) {
      const m = JSON.parse((await target.fetchManifest('copy', image.digest)).bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
      for (const b of [m.config, ...m.layers]) expect(at(`blob ${b.digest}`)).toBeLessThan(at(`manifest ${image.digest}`));
      expect(at(`manifest ${image.digest}`)).toBeLessThan(at('tag v1'));
    }
    expect(target.calls.at(-1)).toBe('commit');
    expect(target.calls.filter((c) => c === 'commit')).toHaveLength(1);
  });

  it('sends an image manifest as soon as its own blobs are in, while the blobs of later images still wait', async () => {
    const source = new MemoryStorage('source');
    const target = new RecordingStorage('target');
    const images = [];
    for (const arch of ['amd64', 'arm64', 'ppc64le', 's390x']) {
      const layer = seededBytes(`only-${arch}`, 50_000);
      const config = json({ architecture: arch, os: 'linux' });
      for (const b of [layer, config]) await put(source, b);
      const blob = (mediaType: string, b: Buffer) => ({ mediaType, digest: sha256(b), size: b.length });
      const manifest = json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: blob('application/vnd.oci.image.config.v1+json', config), layers: [blob('application/vnd.oci.image.layer.v1.tar', layer)] });
      await source.pushManifest('app', sha256(manifest), manifest, MediaType.ociManifest);
      images.push({ mediaType: MediaType.ociManifest, digest: sha256(manifest), size: manifest.length, platform: { architecture: arch, os: 'linux' } });
    }
    const index = json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: images });
    await source.tag('app', 'v1', { digest: sha256(index), bytes: index, mediaType: MediaType.ociIndex });
    const plan = await planImport(source, target, { sourceRepository: 'app', sourceReference: 'v1', targets: [{ repository: 'copy', tag: 'v1' }], force: false, maxManifests: 50, includeForeignLayers: false, concurrency: 1 });
    await executePlan(source, target, plan, { sourceRepository: 'app', concurrency: 1, transport });

    expect((await target.fetchManifest('copy', 'v1')).bytes.equals(index)).toBe(true);
    const blobs = target.calls.filter((c) => c.startsWith('blob '));
    expect(blobs).toHaveLength(8);
    // One transfer at a time, image by image: the first image went up before the third image's
    // layer was sent (largest first, every layer would have gone before the first config).
    expect(target.calls.indexOf(`manifest ${images[0]!.digest}`)).toBeLessThan(target.calls.indexOf(`blob ${sha256(seededBytes('only-ppc64le', 50_000))}`));
    for (const image of images) expect(target.calls.indexOf(`manifest ${image.digest}`)).toBeLessThan(target.calls.indexOf('tag v1'));
  });

  it("orders transfers: large blobs first, largest first, then the others manifest by manifest (each manifest's largest first), each once", () => {
    const MiB = 1024 * 1024;
    const d = (name: string, size: number): Descriptor => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(Buffer.from(name)), size });
    const [bigA, bigB, cfg1, small1, cfg2, small2, shared] = [d('bigA', 40 * MiB), d('bigB', 300 * MiB), d('cfg1', 500), d('small1', 2 * MiB), d('cfg2', 600), d('small2', 3 * MiB), d('shared', 1 * MiB)];
    const node = (name: string, blobs: Descriptor[]): ManifestNode => ({ digest: sha256(Buffer.from(name)), mediaType: MediaType.ociManifest, bytes: Buffer.from(name), children: [], blobs });
    const m1 = node('m1', [cfg1, shared, bigA, small1]);
    const m2 = node('m2', [cfg2, shared, small2, bigB]);
    const root: ManifestNode = { ...node('root', []), children: [m1, m2] };
    // What planImport hands over: every blob once, largest first; manifests children first.
    const blobs = [bigB, bigA, small2, small1, shared, cfg2, cfg1];
    expect(transferOrder({ blobs, manifests: [m1, m2, root] }).map((b) => b.digest)).toEqual([bigB, bigA, small1, shared, cfg1, small2, cfg2].map((b) => b.digest));
    // One image: its blobs as the plan lists them, largest first.
    expect(transferOrder({ blobs: [small1, shared, cfg1], manifests: [node('one', [cfg1, shared, small1])] }).map((b) => b.digest)).toEqual([small1, shared, cfg1].map((b) => b.digest));
  });

  it('a second copy finds everything in place and writes nothing', async () => {
    const source = new MemoryStorage('source');
    const target = new RecordingStorage('target');
    await indexInto(source);
    await copy(source, target);
    target.calls.length = 0;
    const { plan, stats } = await copy(source, target);
    expect(plan.targets).toEqual([expect.objectContaining({ action: 'unchanged' })]);
    expect(stats).toMatchObject({ blobsUploaded: 0, manifestsPushed: 0, tagsPushed: 0, tagsUnchanged: 1 });
    expect(target.calls).toEqual([]);
  });
});
