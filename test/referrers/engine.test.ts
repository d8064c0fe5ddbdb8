// The order the engine promises with referrers, over memory storages: the image's blobs and
// manifests, then each referrer after its subject (a signature of a signature too), then
// cosign's tag, then the image's tags, then one commit. A listing that repeats itself, or lists
// the image, walks nothing twice.
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/copy/execute.js';
import { planImport } from '../../src/copy/plan.js';
import { MemoryStorage } from '../../src/content/memory.js';
import type { ReferrersOptions } from '../../src/content/storage.js';
import type { CopyEvent } from '../../src/copy/events.js';
import { MediaType, type Descriptor } from '../../src/oci/media-types.js';
import { Transport } from '../../src/transport/http.js';
import { sha256 } from '../harness/index.js';

/** A memory storage that notes each manifest and tag written to it, and its commit, in order. */
function recordingStorage(name: string): MemoryStorage & { calls: string[] } {
  const s = Object.assign(new MemoryStorage(name), { calls: [] as string[] });
  const pushManifest = s.pushManifest.bind(s);
  const tag = s.tag.bind(s);
  s.pushManifest = (repository, digest, bytes, mediaType) => (s.calls.push(`manifest ${digest}`), pushManifest(repository, digest, bytes, mediaType));
  s.tag = (repository, name, manifest) => (s.calls.push(`tag ${name}`), tag(repository, name, manifest));
  Object.assign(s, { commit: async () => void s.calls.push('commit') });
  return s;
}

const json = (o: object) => Buffer.from(JSON.stringify(o));
const blob = (mediaType: string, b: Buffer) => ({ mediaType, digest: sha256(b), size: b.length });

async function manifestInto(s: MemoryStorage, layer: string, extra: object = {}) {
  const bytes = Buffer.from(layer);
  const config = json({ architecture: 'amd64', os: 'linux', layer });
  for (const b of [bytes, config]) await s.pushBlob('app', { digest: sha256(b), size: b.length }, () => Readable.from([b]));
  const m = json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: blob('application/vnd.oci.image.config.v1+json', config), layers: [blob('application/octet-stream', bytes)], ...extra });
  await s.pushManifest('app', sha256(m), m, MediaType.ociManifest);
  return { mediaType: MediaType.ociManifest, digest: sha256(m), size: m.length, bytes: m };
}

/** An image, a signature of it, a signature of that signature, and cosign's tag. */
async function signedInto(s: MemoryStorage) {
  const image = await manifestInto(s, 'image');
  await s.tag('app', 'v1', image);
  const sig = await manifestInto(s, 'sig', { artifactType: 'application/vnd.cncf.notary.signature', subject: { mediaType: image.mediaType, digest: image.digest, size: image.size } });
  const sigOfSig = await manifestInto(s, 'sig-of-sig', { artifactType: 'application/vnd.cncf.notary.signature', subject: { mediaType: sig.mediaType, digest: sig.digest, size: sig.size } });
  const cosign = await manifestInto(s, 'cosign');
  const cosignTag = `${image.digest.replace(':', '-')}.sig`;
  await s.tag('app', cosignTag, cosign);
  return { image, sig, sigOfSig, cosign, cosignTag };
}

const transport = new Transport();
afterAll(() => transport.close());

async function copy(source: MemoryStorage, target: MemoryStorage) {
  const plan = await planImport(source, target, { sourceRepository: 'app', sourceReference: 'v1', targets: [{ repository: 'copy', tag: 'v1' }], force: false, maxManifests: 50, includeForeignLayers: false, concurrency: 4, includeReferrers: true });
  return { plan, stats: await executePlan(source, target, plan, { sourceRepository: 'app', concurrency: 4, transport }) };
}

describe('referrers in the copy engine', () => {
  it('writes the image, then each referrer after its subject, then cosign’s tag, then the image’s tag, then commits', async () => {
    const source = new MemoryStorage('source');
    const target = recordingStorage('target');
    const s = await signedInto(source);
    const { plan, stats } = await copy(source, target);
    expect(plan.referrers.map((r) => [r.descriptor.digest, r.subject, r.tag])).toEqual([
      [s.sig.digest, s.image.digest, undefined],
      [s.cosign.digest, s.image.digest, s.cosignTag],
      [s.sigOfSig.digest, s.sig.digest, undefined],
    ]);
    expect(stats.referrers).toBe(3);
    const at = (call: string) => target.calls.indexOf(call);
    expect(at(`manifest ${s.image.digest}`)).toBeGreaterThanOrEqual(0);
    expect(at(`manifest ${s.image.digest}`)).toBeLessThan(at(`manifest ${s.sig.digest}`));
    expect(at(`manifest ${s.sig.digest}`)).toBeLessThan(at(`manifest ${s.sigOfSig.digest}`));
    expect(at(`manifest ${s.sigOfSig.digest}`)).toBeLessThan(at('tag v1'));
    expect(at(`tag ${s.cosignTag}`)).toBeLessThan(at('tag v1'));
    expect(target.calls.at(-1)).toBe('commit');
    expect((await target.referrers('copy', s.image.digest)).map((d) => d.digest)).toEqual([s.sig.digest]);
  });

  it('a listing that repeats a referrer, or lists the image itself, walks each manifest once', async () => {
    class Repeating extends MemoryStorage {
      image = '';
      override async referrers(repository: string, digest: string, options?: ReferrersOptions): Promise<Descriptor[]> {
        const listed = await super.referrers(repository, digest, options);
        const self = await this.resolve(repository, this.image);
        return [...listed, ...listed, { ...self!, digest: this.image }];
      }
    }
    const source = new Repeating('source');
    const s = await signedInto(source);
    source.image = s.image.digest;
    const { plan } = await copy(source, new MemoryStorage('target'));
    expect(plan.referrers.map((r) => r.descriptor.digest).sort()).toEqual([s.sig.digest, s.sigOfSig.digest, s.cosign.digest].sort());
  });

  it('a source that cannot hold referrers says so, and the image is copied', async () => {
    const source = new MemoryStorage('archive');
    const s = await signedInto(source);
    Object.assign(source, { referrers: undefined });
    const events: CopyEvent[] = [];
    const plan = await planImport(source, new MemoryStorage('target'), { sourceRepository: 'app', sourceReference: 'v1', targets: [{ repository: 'copy', tag: 'v1' }], force: false, maxManifests: 50, includeForeignLayers: false, concurrency: 4, includeReferrers: true, onEvent: (e) => events.push(e) });
    expect(plan.referrers).toEqual([]);
    expect(plan.digest).toBe(s.image.digest);
    expect(events).toContainEqual({ type: 'note', message: 'archive cannot hold referrers (signatures, SBOMs); none are copied from it.' });
  });

  it('a re-run with the tags in place still brings a referrer added since', async () => {
    const source = new MemoryStorage('source');
    const target = recordingStorage('target');
    const s = await signedInto(source);
    await copy(source, target);
    const late = await manifestInto(source, 'late', { artifactType: 'application/spdx+json', subject: { mediaType: s.image.mediaType, digest: s.image.digest, size: s.image.size } });
    target.calls.length = 0;
    const { plan, stats } = await copy(source, target);
    expect(plan.targets).toEqual([expect.objectContaining({ action: 'unchanged' })]);
    expect(stats).toMatchObject({ manifestsPushed: 1, tagsPushed: 0 });
    expect(target.calls).toEqual([`manifest ${late.digest}`, 'commit']);
  });
});
