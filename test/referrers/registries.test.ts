// Referrers between real registries: a Distribution 2.8 with the harness's referrers API in front
// (an API registry: ACR, Harbor, Quay, Zot) and a plain one (fallback only: Docker Hub, GHCR,
// Distribution), each as source and as target, and cosign's tags. What landed is read back with
// skopeo and plain HTTP, byte for byte.
import { describe, expect, inject, it } from 'vitest';
import { MediaTypes, pushImage, putRawManifest, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { startReferrersApi, type ReferrersApiOptions } from '../harness/referrers-api.js';
import { deleteManifest, skopeoRaw, listTags } from '../import/helpers.js';
import { copyWith, registryAt, tagSchemaIndex } from './helpers.js';
import { clientFor } from '../registry/helpers.js';
import { NOTATION_SIGNATURE, pushSignedImage, schemaTag, SPDX } from './signed-image.js';

const open = inject('openRegistry');

describe('referrers from an API source to a fallback-only target', () => {
  it('copies every referrer byte for byte, writes the tag-schema indexes and the cosign tag, all before the image tag', async () => {
    const api = await stopAfterAll(startReferrersApi({ upstream: open.url, pageSize: 1 }));
    const target = await stopAfterAll(startProxy({ upstream: open.url }));
    const repo = uniqueRepo('ref/api-src');
    const targetRepo = uniqueRepo('ref/fallback-dst');
    const signed = await pushSignedImage(api, repo);

    const { plan, stats } = await copyWith({ source: registryAt(api.url), target: registryAt(target.url), repo, reference: 'v1', targetRepo });
    expect(plan.referrers.map((r) => r.descriptor.digest).sort()).toEqual([...signed.referrers.map((r) => r.digest), signed.cosign.digest].sort());
    expect(stats.referrers).toBe(5);
    // Pages of one referrer each: `Link` was followed (the index has two referrers).
    expect(api.listings.filter((q) => q.includes('page=1')).length).toBeGreaterThan(0);

    for (const r of signed.referrers) expect((await skopeoRaw(`${open.host}/${targetRepo}@${r.digest}`)).equals(r.bytes)).toBe(true);
    expect((await skopeoRaw(`${open.host}/${targetRepo}:${signed.cosign.tag}`)).equals(signed.cosign.bytes)).toBe(true);
    expect((await skopeoRaw(`${open.host}/${targetRepo}:v1`)).equals(signed.image.bytes)).toBe(true);

    // The tag schema: one index per subject, listing its referrers with their artifactType.
    const ofIndex = JSON.parse((await skopeoRaw(`${open.host}/${targetRepo}:${schemaTag(signed.image.digest)}`)).toString()) as { mediaType: string; manifests: { digest: string; artifactType: string }[] };
    expect(ofIndex.mediaType).toBe(MediaTypes.ociIndex);
    expect(ofIndex.manifests.map((d) => [d.digest, d.artifactType]).sort()).toEqual(
      [
        [signed.indexSignature.digest, NOTATION_SIGNATURE],
        [signed.sbom.digest, SPDX],
      ].sort(),
    );
    expect((await tagSchemaIndex(open.url, targetRepo, signed.amd64.digest))!.manifests.map((d) => d.digest)).toEqual([signed.amd64Signature.digest]);
    expect((await tagSchemaIndex(open.url, targetRepo, signed.sbom.digest))!.manifests.map((d) => d.digest)).toEqual([signed.sbomSignature.digest]);

    // Every write of a referrer or of a tag-schema index comes before the image's tag.
    const puts = target.requests.filter((r) => r.method === 'PUT' && r.kind === 'manifest').map((r) => r.reference);
    expect(puts.at(-1)).toBe('v1');
    expect(puts.indexOf(signed.image.digest)).toBeLessThan(puts.indexOf(signed.indexSignature.digest));
    expect(puts.indexOf(signed.sbom.digest)).toBeLessThan(puts.indexOf(signed.sbomSignature.digest));
  });

  it('keeps the entries others wrote in a tag-schema index, and a second run adds nothing twice', async () => {
    const repo = uniqueRepo('ref/keep-src');
    const targetRepo = uniqueRepo('ref/keep-dst');
    const api = await stopAfterAll(startReferrersApi({ upstream: open.url }));
    const signed = await pushSignedImage(api, repo);
    // Someone else's signature of the same image, already listed in the target.
    const pushed = await pushImage(open, targetRepo, undefined, { kind: 'artifact', artifactType: 'application/vnd.example.signature', subject: { mediaType: signed.image.mediaType, digest: signed.image.digest, size: signed.image.size } });
    const theirs = { mediaType: pushed.mediaType, digest: pushed.digest, size: pushed.size, artifactType: 'application/vnd.example.signature' };
    const put = await putRawManifest(open, targetRepo, schemaTag(signed.image.digest), { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [theirs] }, MediaTypes.ociIndex);
    expect(put.status).toBe(201);

    await copyWith({ source: registryAt(api.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo });
    const first = (await tagSchemaIndex(open.url, targetRepo, signed.image.digest))!;
    expect(first.manifests.map((d) => d.digest)).toEqual([theirs.digest, expect.any(String), expect.any(String)]);
    expect(first.manifests.map((d) => d.digest).sort()).toEqual([theirs.digest, signed.indexSignature.digest, signed.sbom.digest].sort());

    const again = await copyWith({ source: registryAt(api.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo });
    expect(again.stats).toMatchObject({ manifestsPushed: 0, blobsUploaded: 0, tagsPushed: 0 });
    expect((await tagSchemaIndex(open.url, targetRepo, signed.image.digest))!.bytes.equals(first.bytes)).toBe(true);
  });

  it('--referrers-artifact-type narrows the set, asking the API to filter', async () => {
    const api = await stopAfterAll(startReferrersApi({ upstream: open.url }));
    const repo = uniqueRepo('ref/filter-src');
    const targetRepo = uniqueRepo('ref/filter-dst');
    const signed = await pushSignedImage(api, repo);
    const { plan } = await copyWith({ source: registryAt(api.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo }, { referrerArtifactTypes: [NOTATION_SIGNATURE] });
    // The SBOM is left out, and with it its signature; cosign's signature has no such type.
    expect(plan.referrers.map((r) => r.descriptor.digest).sort()).toEqual([signed.indexSignature.digest, signed.amd64Signature.digest].sort());
    expect(api.listings.every((q) => q.includes(`artifactType=${encodeURIComponent(NOTATION_SIGNATURE)}`))).toBe(true);
    expect(await listTags(open.url, targetRepo)).not.toContain(signed.cosign.tag);
  });

  it('filters locally when the registry ignores the artifactType filter (no OCI-Filters-Applied)', async () => {
    const api = await stopAfterAll(startReferrersApi({ upstream: open.url, filter: false }));
    const repo = uniqueRepo('ref/nofilter-src');
    const signed = await pushSignedImage(api, repo);
    const { plan } = await copyWith({ source: registryAt(api.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo: uniqueRepo('ref/nofilter-dst') }, { referrerArtifactTypes: [SPDX] });
    expect(plan.referrers.map((r) => r.descriptor.digest)).toEqual([signed.sbom.digest]);
  });
});

describe('referrers API pages', () => {
  it('a next page on another origin gets no credentials', async () => {
    const auth = inject('htpasswdRegistry');
    const repo = uniqueRepo('ref/pages-src');
    const options: ReferrersApiOptions = { upstream: auth.url, pageSize: 1 };
    const api = await stopAfterAll(startReferrersApi(options));
    // The other origin: a recording proxy in front of the same API.
    const other = await stopAfterAll(startProxy({ upstream: api.url }));
    const signed = await pushSignedImage({ url: api.url, username: auth.username, password: auth.password }, repo);
    const { client, transport } = clientFor(api.url, { kind: 'basic', username: auth.username, password: auth.password });
    try {
      options.linkOrigin = other.url;
      const err = await client.listReferrers(repo, signed.image.digest).catch((e: unknown) => e);
      expect(other.requests.length).toBeGreaterThan(0);
      expect(other.requests.every((r) => r.requestHeaders.authorization === undefined)).toBe(true);
      // Without credentials the other origin refuses the page: an error, never a leak.
      expect(err).toMatchObject({ kind: 'auth' });
      // On the registry's own origin, every page is read with them.
      options.linkOrigin = undefined;
      expect((await client.listReferrers(repo, signed.image.digest))!.map((d) => d.digest).sort()).toEqual([signed.indexSignature.digest, signed.sbom.digest].sort());
    } finally {
      await transport.close();
    }
  });
});

describe('referrers from a fallback-only source to an API target', () => {
  it('reads the tag-schema indexes and cosign tags, pushes referrers by digest with their subject, and writes no tag-schema tag', async () => {
    const api = await stopAfterAll(startReferrersApi({ upstream: open.url }));
    const repo = uniqueRepo('ref/fallback-src');
    const targetRepo = uniqueRepo('ref/api-dst');
    const signed = await pushSignedImage(open, repo, { tagSchema: true });

    const { events } = await copyWith({ source: registryAt(open.url), target: registryAt(api.url), repo, reference: 'v1', targetRepo });
    const how = events.flatMap((e) => (e.type === 'referrer-written' ? [[e.digest, e.how]] : []));
    expect(Object.fromEntries(how)).toEqual({
      [signed.indexSignature.digest]: 'api',
      [signed.amd64Signature.digest]: 'api',
      [signed.sbom.digest]: 'api',
      [signed.sbomSignature.digest]: 'api',
      [signed.cosign.digest]: 'tag',
    });
    // The API registry knows them from their subject.
    const recorded = api.recorded.get(targetRepo)!;
    expect(recorded.get(signed.image.digest)!.map((r) => r.digest).sort()).toEqual([signed.indexSignature.digest, signed.sbom.digest].sort());
    expect(recorded.get(signed.sbom.digest)!.map((r) => r.digest)).toEqual([signed.sbomSignature.digest]);
    for (const r of signed.referrers) expect((await skopeoRaw(`${open.host}/${targetRepo}@${r.digest}`)).equals(r.bytes)).toBe(true);
    expect((await listTags(open.url, targetRepo)).sort()).toEqual(['v1', signed.cosign.tag].sort());
  });

  it('a tag-schema index that lists the image itself (a loop) copies each manifest once and ends', async () => {
    const repo = uniqueRepo('ref/loop-src');
    const signed = await pushSignedImage(open, repo, { tagSchema: true });
    const loop = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ mediaType: signed.image.mediaType, digest: signed.image.digest, size: signed.image.size }, { mediaType: MediaTypes.ociManifest, digest: signed.sbom.digest, size: signed.sbom.size, artifactType: SPDX }] };
    expect((await putRawManifest(open, repo, schemaTag(signed.sbomSignature.digest), loop, MediaTypes.ociIndex)).status).toBe(201);
    const { plan } = await copyWith({ source: registryAt(open.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo: uniqueRepo('ref/loop-dst') });
    const digests = plan.referrers.map((r) => r.descriptor.digest);
    expect(new Set(digests).size).toBe(digests.length);
    expect(digests).not.toContain(signed.image.digest);
    expect(digests).toHaveLength(5);
  });

  it('a referrer listed in a tag-schema index but deleted since is left out with a note', async () => {
    const repo = uniqueRepo('ref/stale-src');
    const signed = await pushSignedImage(open, repo, { tagSchema: true });
    await deleteManifest(open.url, repo, signed.sbomSignature.digest);
    const { plan, events } = await copyWith({ source: registryAt(open.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo: uniqueRepo('ref/stale-dst') });
    expect(plan.referrers.map((r) => r.descriptor.digest)).not.toContain(signed.sbomSignature.digest);
    expect(plan.referrers).toHaveLength(4);
    expect(events).toContainEqual({ type: 'note', message: `Referrer ${signed.sbomSignature.digest} of ${signed.sbom.digest} is listed but not in the source; left out.` });
  });

  it('referrers count in the manifest limit', async () => {
    const repo = uniqueRepo('ref/limit-src');
    await pushSignedImage(open, repo, { tagSchema: true });
    // The index carries 4 manifests (2 images, 2 attestations); its 5 referrers take it past 6.
    const err = await copyWith({ source: registryAt(open.url), target: registryAt(open.url), repo, reference: 'v1', targetRepo: uniqueRepo('ref/limit-dst') }, { maxManifests: 6 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'limit' });
    expect((err as Error).message).toMatch(/more than 6/);
  });
});
