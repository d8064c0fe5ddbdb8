// What arrives: every kind of image and artifact lands byte-identical in another registry, checked
// with skopeo (which verifies every digest) and plain HTTP, not with our own client.
import { describe, expect, inject, it } from 'vitest';
import { pushImage, uniqueRepo, MediaTypes, EMPTY_DESCRIPTOR, type FixtureSpec, type PushResult } from '../harness/index.js';
import { blobStatus, cli, expectExit, rawManifest, skopeoCopyAll, skopeoRaw } from './helpers.js';

const open = inject('openRegistry');
const token = inject('tokenRegistry');

/** Imports `src` (on the token registry, pulled anonymously) into the open registry as `repo:tag`. */
async function importInto(src: PushResult, repo: string, tag = 'v1') {
  const r = await cli(['-n', open.host, '--source', `${token.host}/${src.repo}:${src.tag}`, '-t', `${repo}:${tag}`, '-o', 'json']);
  expectExit(r, 0);
  return r.json();
}

/** Every manifest and blob of the fixture is in `repo` of the open registry, byte for byte. */
async function expectIdentical(src: PushResult, repo: string, tag = 'v1') {
  const top = await skopeoRaw(`${open.host}/${repo}:${tag}`);
  expect(top.equals(src.bytes), 'root manifest bytes').toBe(true);
  for (const m of src.manifests) {
    const got = await rawManifest(open.url, repo, m.digest);
    expect(got, `manifest ${m.digest} (${m.kind})`).toBeDefined();
    expect(got!.equals(m.bytes), `manifest ${m.digest} bytes`).toBe(true);
  }
  for (const b of src.blobs.filter((x) => x.pushed)) {
    expect(await blobStatus(open.url, repo, b.digest), `blob ${b.digest} (${b.mediaType})`).toBe(200);
  }
}

describe('content arrives byte-identical', () => {
  it('a multi-arch index with attestations: same index digest, every child, every blob; skopeo verifies the copy', async () => {
    const srcRepo = uniqueRepo('content/multi');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'index', platforms: 3, attestations: true, layersPerImage: 2, shareBaseLayer: true });
    // 3 images + 3 attestation manifests under the index, 7 with it (manifestCount counts them all).
    expect(src.manifests).toHaveLength(7);
    const repo = uniqueRepo('content/multi-dst');
    const out = await importInto(src, repo);
    expect(out.sourceDigest).toBe(src.digest);
    expect(out.mediaType).toBe(MediaTypes.ociIndex);
    expect(out.manifestCount).toBe(7);
    expect(out.manifests.map((m) => m.digest).sort()).toEqual(src.manifests.map((m) => m.digest).sort());
    const pushedBlobs = src.blobs.filter((b) => b.pushed);
    expect(out.blobs).toMatchObject({ total: pushedBlobs.length, copied: pushedBlobs.length, mounted: 0, skipped: 0 });
    expect(out.totalBytes).toBe(pushedBlobs.reduce((n, b) => n + b.size, 0));
    expect(out.bytesCopied).toBe(out.totalBytes);
    await expectIdentical(src, repo);
    // skopeo pulls the whole tree and checks each digest it reads: manifests, configs, layers.
    const files = await skopeoCopyAll(`${open.host}/${repo}:v1`);
    for (const b of pushedBlobs) expect(files).toContain(b.digest.slice('sha256:'.length));
  });

  const cases: [string, FixtureSpec, string][] = [
    ['a single-platform OCI image', { kind: 'image', layers: 2 }, MediaTypes.ociManifest],
    ['a Docker v2 image manifest', { kind: 'image', mediaTypes: 'docker', layers: 2 }, MediaTypes.dockerManifest],
    ['a Docker v2 manifest list', { kind: 'index', mediaTypes: 'docker', platforms: 2 }, MediaTypes.dockerManifestList],
    ['an OCI index', { kind: 'index', platforms: 2 }, MediaTypes.ociIndex],
    ['a Helm chart', { kind: 'helm', name: 'demo', version: '1.2.3' }, MediaTypes.ociManifest],
    ['a nested index (an index inside an index)', { kind: 'index', platforms: 2, children: [{ kind: 'index', platforms: 2, seed: 'inner' }] }, MediaTypes.ociIndex],
  ];
  it.each(cases)('%s', async (_name, spec, mediaType) => {
    const src = await pushImage(token, uniqueRepo('content/case'), 'v1', spec);
    const repo = uniqueRepo('content/case-dst');
    const out = await importInto(src, repo);
    expect(out.sourceDigest).toBe(src.digest);
    expect(out.mediaType).toBe(mediaType);
    await expectIdentical(src, repo);
    // skopeo 1.9 walks one level of index only: a nested index is checked by each inner index.
    const tops = spec.kind === 'index' && spec.children?.length ? src.children.filter((c) => c.kind === 'index').map((c) => `@${c.digest}`) : [':v1'];
    for (const ref of tops) await skopeoCopyAll(`${open.host}/${repo}${ref}`);
  });

  it('a nested index counts the manifests at every level and pushes children before parents', async () => {
    const src = await pushImage(token, uniqueRepo('content/nested'), 'v1', { kind: 'index', platforms: 1, children: [{ kind: 'index', platforms: 2 }] });
    const out = await importInto(src, uniqueRepo('content/nested-dst'));
    // Outer index → 1 image + inner index → 2 images: 4 manifests below the root, 5 with it.
    expect(out.manifestCount).toBe(5);
    // The json lists children before their parents, the root last.
    expect(out.manifests.at(-1)!.digest).toBe(src.digest);
    const inner = src.children.find((c) => c.kind === 'index')!;
    const pos = (d: string) => out.manifests.findIndex((m) => m.digest === d);
    for (const c of inner.children) expect(pos(c.digest)).toBeLessThan(pos(inner.digest));
  });

  it('a generic OCI artifact with artifactType and the empty descriptor as config and layer', async () => {
    const src = await pushImage(token, uniqueRepo('content/artifact'), 'v1', { kind: 'artifact', artifactType: 'application/vnd.acr-import.test.v1' });
    expect((src.json as { config: { digest: string } }).config.digest).toBe(EMPTY_DESCRIPTOR.digest);
    const repo = uniqueRepo('content/artifact-dst');
    const out = await importInto(src, repo);
    // The empty blob is config and layer at once: one blob to copy, not two.
    expect(out.blobs.total).toBe(1);
    expect(out.totalBytes).toBe(2);
    await expectIdentical(src, repo);
    const json = JSON.parse((await skopeoRaw(`${open.host}/${repo}:v1`)).toString()) as { artifactType?: string };
    expect(json.artifactType).toBe('application/vnd.acr-import.test.v1');
  });

  it('an OCI artifact with files of its own types', async () => {
    const src = await pushImage(token, uniqueRepo('content/artifact-files'), 'v1', {
      kind: 'artifact',
      artifactType: 'application/vnd.example.sbom.v1',
      files: [{ mediaType: 'application/spdx+json', size: 700, title: 'sbom.spdx.json' }, { content: 'hello', title: 'readme.txt' }],
    });
    const repo = uniqueRepo('content/artifact-files-dst');
    await importInto(src, repo);
    await expectIdentical(src, repo);
  });
});
