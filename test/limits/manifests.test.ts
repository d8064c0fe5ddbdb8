// The manifest limit and the manifest byte budget, against a real registry: an index is refused as
// soon as it names too many children, before one of them is fetched. A recording proxy in front of
// the source counts what was asked.
import { describe, expect, inject, it } from 'vitest';
import { MediaTypes, putBlob, putRawManifest, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { cli, expectExit, expectNoStack, listTags } from '../import/helpers.js';

const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');

// The source is read through this proxy: its log is every request the import made to the source.
const sourceProxy = await stopAfterAll(startProxy({ upstream: open.url }));

/** An index of `count` distinct single-layer images in `repo` (one config and layer, told apart by an annotation). */
async function pushWideIndex(target: Parameters<typeof putBlob>[0], repo: string, count: number): Promise<{ digest: string; children: string[] }> {
  const layer = await putBlob(target, repo, Buffer.from('one small layer'));
  const config = await putBlob(target, repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
  const children: { digest: string; size: number }[] = [];
  for (let start = 0; start < count; start += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, count - start) }, async (_, j) => {
        const manifest = {
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          config: { mediaType: MediaTypes.ociConfig, ...config },
          layers: [{ mediaType: MediaTypes.ociLayerGzip, ...layer }],
          annotations: { 'test.child': String(start + j) },
        };
        const bytes = Buffer.from(JSON.stringify(manifest));
        const r = await putRawManifest(target, repo, `child-${start + j}`, bytes, MediaTypes.ociManifest);
        expect(r.status, JSON.stringify(r.headers)).toBe(201);
        return { digest: r.digest, size: bytes.length };
      }),
    );
    children.push(...batch);
  }
  const index = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: children.map((c) => ({ mediaType: MediaTypes.ociManifest, ...c, platform: { architecture: 'amd64', os: 'linux' } })) };
  const r = await putRawManifest(target, repo, 'wide', index, MediaTypes.ociIndex);
  expect(r.status).toBe(201);
  return { digest: r.digest, children: children.map((c) => c.digest) };
}

describe('the manifest limit, before the work', () => {
  it('an index of 300 children is refused after reading the index: one manifest GET, no child fetched, nothing written', async () => {
    const repo = uniqueRepo('limits/wide-src');
    const wide = await pushWideIndex(open, repo, 300);
    const dst = uniqueRepo('limits/wide');
    sourceProxy.clear();
    const r = await cli(['-n', open.host, '--source', `${sourceProxy.host}/${repo}:wide`, '-t', `${dst}:v1`]);
    expectExit(r, 5);
    expect(r.stderr).toMatch(/at least 300 manifests, more than 50: ACR import's limit of 50 manifests per image, for every import/);
    expect(r.stderr).toContain('--max-manifests');
    expectNoStack(r.stderr);
    const manifestRequests = sourceProxy.requests.filter((q) => q.kind === 'manifest');
    const gets = manifestRequests.filter((q) => q.method === 'GET');
    expect(gets.map((q) => q.reference)).toEqual([wide.digest]);
    expect(manifestRequests.some((q) => wide.children.includes(q.reference ?? ''))).toBe(false);
    expect(sourceProxy.requests.filter((q) => q.kind === 'blob')).toEqual([]);
    expect(await listTags(open.url, dst)).toEqual([]);
  }, 120_000);

  it('raised with --max-manifests, the same index plans whole (dry run)', async () => {
    const repo = uniqueRepo('limits/wide60-src');
    const wide = await pushWideIndex(open, repo, 60);
    const r = await cli(['-n', open.host, '--source', `${sourceProxy.host}/${repo}:wide`, '-t', `${uniqueRepo('limits/wide60')}:v1`, '--max-manifests', '60', '--dry-run', '-o', 'json']);
    expectExit(r, 0);
    // -o json counts every manifest it lists, the index too: 60 images + 1.
    expect(r.json()).toMatchObject({ sourceDigest: wide.digest, manifestCount: 61, dryRun: true });
    const refused = await cli(['-n', open.host, '--source', `${sourceProxy.host}/${repo}:wide`, '-t', `${uniqueRepo('limits/wide60')}:v1`, '--max-manifests', '59', '--dry-run']);
    expectExit(refused, 5);
    expect(refused.stderr).toMatch(/more than 59: the limit set with --max-manifests \(ACR import's own is 50, for every import\)/);
  }, 120_000);
});

describe('the layer limit follows the source (ACR: 2 GiB per layer from public registries)', () => {
  /** An image whose only layer declares `size` bytes; Distribution checks that the blob exists, not its size. */
  async function declaredLayer(target: Parameters<typeof putBlob>[0], repo: string, size: number): Promise<string> {
    const blob = await putBlob(target, repo, Buffer.from('sixteen bytes!!!'));
    const config = await putBlob(target, repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
    const put = await putRawManifest(target, repo, 'big', { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, ...config }, layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: blob.digest, size }] }, MediaTypes.ociManifest);
    expect(put.status).toBe(201);
    return blob.digest;
  }
  const GiB3 = 3 * 1024 ** 3;

  it('a source read anonymously is public: a 3 GiB layer is refused, and the message says which rule and why', async () => {
    const repo = uniqueRepo('limits/public-src');
    const layer = await declaredLayer(open, repo, GiB3);
    const r = await cli(['-n', open.host, '--source', `${open.host}/${repo}:big`, '-t', `${uniqueRepo('limits/public')}:v1`, '--dry-run']);
    expectExit(r, 5);
    expect(r.stderr).toContain(layer);
    expect(r.stderr).toMatch(/3\.0 GiB, over the 2\.0 GiB layer size limit: ACR import allows 2\.0 GiB per layer from public registries, and 127\.0\.0\.1:\d+ was read anonymously/);
    expect(r.stderr).toContain('--max-layer-size');
    // Raised, it plans.
    const raised = await cli(['-n', open.host, '--source', `${open.host}/${repo}:big`, '-t', `${uniqueRepo('limits/public')}:v1`, '--dry-run', '--max-layer-size', '4GiB', '-o', 'json']);
    expectExit(raised, 0);
    expect(raised.json().totalBytes).toBeGreaterThan(GiB3);
  });

  it('a private source read with credentials has no default layer limit; --max-layer-size still applies to it', async () => {
    const repo = uniqueRepo('limits/private-src');
    await declaredLayer(htpasswd, repo, GiB3);
    const creds = ['--username', htpasswd.username, '--password', htpasswd.password];
    const r = await cli(['-n', open.host, '--source', `${htpasswd.host}/${repo}:big`, ...creds, '-t', `${uniqueRepo('limits/private')}:v1`, '--dry-run', '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().totalBytes).toBeGreaterThan(GiB3);
    const capped = await cli(['-n', open.host, '--source', `${htpasswd.host}/${repo}:big`, ...creds, '-t', `${uniqueRepo('limits/private')}:v1`, '--dry-run', '--max-layer-size', '1GiB']);
    expectExit(capped, 5);
    expect(capped.stderr).toMatch(/over the 1\.0 GiB layer size limit: the limit set with --max-layer-size, for every source/);
  });
});
