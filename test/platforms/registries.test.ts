// --platform between real registries: what lands under the target tag, read back with skopeo.
import { describe, expect, inject, it } from 'vitest';
import { pushImage, uniqueRepo } from '../harness/index.js';
import { skopeoCopyAll, skopeoRaw } from '../import/helpers.js';
import { copyWith, registryAt } from '../referrers/helpers.js';
import { pushSignedImage } from '../referrers/signed-image.js';
import { MediaType } from '../../src/oci/media-types.js';

const open = inject('openRegistry');
const linux = (architecture: string, variant?: string) => ({ os: 'linux', architecture, ...(variant ? { variant } : {}) });

describe('--platform', () => {
  it('one platform: its manifest alone under the target tag, byte for byte', async () => {
    const repo = uniqueRepo('plat/one-src');
    const targetRepo = uniqueRepo('plat/one-dst');
    const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 3, attestations: true });
    const arm64 = image.children.find((c) => c.platform?.architecture === 'arm64')!;
    const { plan, events } = await copyWith({ source: registryAt(open.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo }, { platforms: [linux('aarch64')], includeReferrers: false });
    expect(plan).toMatchObject({ digest: arm64.digest, sourceDigest: image.digest, platforms: ['linux/arm64/v8'], manifestCount: 1 });
    expect((await skopeoRaw(`${open.host}/${targetRepo}:v1`)).equals(arm64.bytes)).toBe(true);
    expect(events.some((e) => e.type === 'note' && /Attestation manifest .* is left out/.test(e.message))).toBe(true);
  });

  it('several platforms: a new index of those entries in source order, with their attestations, complete in the target', async () => {
    const repo = uniqueRepo('plat/two-src');
    const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 3, attestations: true });
    const runs = [];
    for (const targetRepo of [uniqueRepo('plat/two-a'), uniqueRepo('plat/two-b')]) {
      const { plan } = await copyWith({ source: registryAt(open.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo }, { platforms: [linux('arm', 'v7'), linux('amd64')], includeReferrers: false });
      runs.push({ plan, raw: await skopeoRaw(`${open.host}/${targetRepo}:v1`), files: await skopeoCopyAll(`${open.host}/${targetRepo}:v1`) });
    }
    const [a, b] = runs;
    // Built the same way twice: the same bytes, the same digest, which is not the source's.
    expect(a!.raw.equals(b!.raw)).toBe(true);
    expect(a!.plan.digest).toBe(b!.plan.digest);
    expect(a!.plan.digest).not.toBe(image.digest);
    expect(a!.plan.sourceDigest).toBe(image.digest);
    const json = JSON.parse(a!.raw.toString()) as { mediaType: string; manifests: { digest: string; platform: { architecture: string } }[] };
    expect(json.mediaType).toBe(MediaType.ociIndex);
    const source = JSON.parse(image.bytes.toString()) as { manifests: { digest: string; platform: { architecture: string; variant?: string }; annotations?: Record<string, string> }[] };
    const chosen = source.manifests.filter((m) => (m.platform.architecture === 'amd64' || m.platform.variant === 'v7') && !m.annotations?.['vnd.docker.reference.type']).map((m) => m.digest);
    const attestations = source.manifests.filter((m) => chosen.includes(m.annotations?.['vnd.docker.reference.digest'] ?? '')).map((m) => m.digest);
    expect(json.manifests.map((m) => m.digest)).toEqual(source.manifests.map((m) => m.digest).filter((d) => chosen.includes(d) || attestations.includes(d)));
    expect(attestations).toHaveLength(2);
    // skopeo checked every digest on its way through the copy: 2 images and 2 attestations, their blobs.
    expect(a!.files).toContain('manifest.json');
  });

  it('limits count the selection: one platform of a 60-manifest index imports under the 50-manifest limit', async () => {
    const repo = uniqueRepo('plat/sixty-src');
    const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 60, layerSize: 64 });
    const { plan } = await copyWith({ source: registryAt(open.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo: uniqueRepo('plat/sixty-dst') }, { platforms: [linux('amd64')], includeReferrers: false });
    expect(plan.digest).toBe(image.children[0]!.digest);
    const whole = await copyWith({ source: registryAt(open.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo: uniqueRepo('plat/sixty-all') }, { includeReferrers: false }).catch((e: unknown) => e);
    expect(whole).toMatchObject({ kind: 'limit' });
  });

  it('with --include-referrers: the chosen platform keeps its signature; the source index its own', async () => {
    const repo = uniqueRepo('plat/signed-src');
    const targetRepo = uniqueRepo('plat/signed-dst');
    const signed = await pushSignedImage(open, repo, { tagSchema: true });
    const { plan, events } = await copyWith({ source: registryAt(open.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo }, { platforms: [linux('amd64')] });
    expect(plan.referrers.map((r) => r.descriptor.digest)).toEqual([signed.amd64Signature.digest]);
    expect((await skopeoRaw(`${open.host}/${targetRepo}@${signed.amd64Signature.digest}`)).equals(signed.amd64Signature.bytes)).toBe(true);
    expect(events.some((e) => e.type === 'note' && e.message.includes(`Referrers of the source index ${signed.image.digest} are not copied`))).toBe(true);
  });

  it('an unknown platform is refused before anything is written, naming those available', async () => {
    const repo = uniqueRepo('plat/unknown-src');
    await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2 });
    const err = await copyWith({ source: registryAt(open.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo: uniqueRepo('plat/unknown-dst') }, { platforms: [linux('s390x')] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'usage', hint: 'Available platforms: linux/amd64, linux/arm64/v8.' });
  });

  it('a single image is refused: there is no platform to choose', async () => {
    const repo = uniqueRepo('plat/single-src');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const err = await copyWith({ source: registryAt(open.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo: uniqueRepo('plat/single-dst') }, { platforms: [linux('amd64')] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'usage' });
    expect((err as Error).message).toMatch(/single manifest .* not an index of platforms/);
  });
});
