// Everything that refuses an import does so before one byte is written: tag conflicts without
// --force, and the ACR import limits (manifests per image, layer size). A recording proxy in front
// of the target proves that no write request reached it.
import { describe, expect, inject, it } from 'vitest';
import { pushImage, putBlob, putRawManifest, startProxy, stopAfterAll, uniqueRepo, MediaTypes } from '../harness/index.js';
import { cli, describeRequests, expectExit, expectNoStack, listTags, skopeoRaw } from './helpers.js';

const open = inject('openRegistry');
const token = inject('tokenRegistry');

const proxy = await stopAfterAll(startProxy({ upstream: open.url }));

/** Target writes seen by the proxy for `repo` (tests run one after another, but repos are unique anyway). */
const writesTo = (repo: string) => proxy.writeRequests().filter((r) => r.repo === repo);
const requestsTo = (repo: string) => proxy.requests.filter((r) => r.repo === repo);

describe('--force and existing tags', () => {
  it('a tag holding another image: exit 6, the message names the tag, both digests and --force, nothing written', async () => {
    const dst = uniqueRepo('force/conflict');
    const existing = await pushImage(open, dst, 'v1', { kind: 'image' });
    const srcRepo = uniqueRepo('force/conflict-src');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'index', platforms: 2 });
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`]);
    expectExit(r, 6);
    expect(r.stderr).toContain(`${dst}:v1`);
    expect(r.stderr).toContain(existing.digest);
    expect(r.stderr).toContain(src.digest);
    expect(r.stderr).toContain('--force');
    expectNoStack(r.stderr);
    expect(r.stdout).toBe('');
    expect(writesTo(dst), describeRequests(requestsTo(dst))).toEqual([]);
    // The tag did not move.
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(existing.bytes)).toBe(true);
  });

  it('one conflicting tag among several targets: nothing is written, not even the free ones', async () => {
    const dst = uniqueRepo('force/partial');
    const free = uniqueRepo('force/partial-free');
    await pushImage(open, dst, 'taken', { kind: 'image' });
    const srcRepo = uniqueRepo('force/partial-src');
    await pushImage(token, srcRepo, 'v1', { kind: 'image' });
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${free}:new`, '-t', `${dst}:taken`, '-t', `${dst}:other`]);
    expectExit(r, 6);
    expect(r.stderr).toContain(`${dst}:taken`);
    expect(r.stderr).not.toContain(`${dst}:other already`);
    expect([...writesTo(dst), ...writesTo(free)]).toEqual([]);
    expect(await listTags(open.url, free)).toEqual([]);
    expect(await listTags(open.url, dst)).toEqual(['taken']);
  });

  it('a tag already holding the same digest: success, with no write request at all', async () => {
    const srcRepo = uniqueRepo('force/same-src');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'index', platforms: 2 });
    const dst = uniqueRepo('force/same');
    // The target holds the same image already (pushed through the CLI, then checked by skopeo).
    expectExit(await cli(['-n', open.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`]), 0);
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().targets).toEqual([{ reference: `${proxy.host}/${dst}:v1`, action: 'unchanged' }]);
    expect(r.json().blobs).toMatchObject({ copied: 0, mounted: 0 });
    expect(writesTo(dst), describeRequests(requestsTo(dst))).toEqual([]);
    expect(r.stderr).toMatch(/already/);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
  });

  it('--force moves the tag, and the output says from where', async () => {
    const dst = uniqueRepo('force/move');
    const existing = await pushImage(open, dst, 'v1', { kind: 'image' });
    const srcRepo = uniqueRepo('force/move-src');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'image', mediaTypes: 'docker' });
    const r = await cli(['-n', open.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`, '--force', '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().targets).toEqual([{ reference: `${open.host}/${dst}:v1`, action: 'moved', previous: existing.digest }]);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    expect(r.stderr).toContain(existing.digest);
  });

  it('--dry-run reports a conflict the same way (exit 6) and would-move with --force', async () => {
    const dst = uniqueRepo('force/dry');
    const existing = await pushImage(open, dst, 'v1', { kind: 'image' });
    const srcRepo = uniqueRepo('force/dry-src');
    await pushImage(token, srcRepo, 'v1', { kind: 'image' });
    expectExit(await cli(['-n', proxy.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`, '--dry-run']), 6);
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`, '--dry-run', '--force', '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().targets).toEqual([{ reference: `${proxy.host}/${dst}:v1`, action: 'would-move', previous: existing.digest }]);
    expect(writesTo(dst)).toEqual([]);
  });
});

describe('limits', () => {
  // One fixture with 51 platforms serves the refusal and the raised limit; 50 is its own.
  it('an index of 51 platforms is refused (exit 5, names the limit and --max-manifests) with no write', async () => {
    const srcRepo = uniqueRepo('limits/51-src');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'index', platforms: 51, layerSize: 16, shareBaseLayer: true });
    const dst = uniqueRepo('limits/51');
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`]);
    expectExit(r, 5);
    expect(r.stderr).toMatch(/\b51\b/);
    expect(r.stderr).toMatch(/\b50\b/);
    expect(r.stderr).toContain('--max-manifests');
    expectNoStack(r.stderr);
    expect(writesTo(dst), describeRequests(requestsTo(dst))).toEqual([]);
    expect(await listTags(open.url, dst)).toEqual([]);
    // Raised, the same image goes (dry run: the limit is decided in the plan).
    const raised = await cli(['-n', proxy.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`, '--max-manifests', '51', '--dry-run', '-o', 'json']);
    expectExit(raised, 0);
    expect(raised.json()).toMatchObject({ sourceDigest: src.digest, manifestCount: 52, dryRun: true });
  });

  it('an index of 50 platforms is accepted and copied whole', async () => {
    const srcRepo = uniqueRepo('limits/50-src');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'index', platforms: 50, layerSize: 16, shareBaseLayer: true });
    const dst = uniqueRepo('limits/50');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().manifestCount).toBe(51);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    const last = src.children.at(-1)!;
    expect((await skopeoRaw(`${open.host}/${dst}@${last.digest}`)).equals(last.bytes)).toBe(true);
  });

  it('a layer over --max-layer-size is refused (exit 5, names the layer, the limit and the flag) with no write', async () => {
    const srcRepo = uniqueRepo('limits/layer-src');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'image', layers: [{ size: 2 * 1024 * 1024 }, { size: 100 }] });
    const big = src.layers[0]!;
    expect(big.size).toBeGreaterThan(2 * 1024 * 1024);
    const dst = uniqueRepo('limits/layer');
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`, '--max-layer-size', '1MiB']);
    expectExit(r, 5);
    expect(r.stderr).toContain(big.digest);
    expect(r.stderr).toMatch(/1(\.0)? MiB/);
    expect(r.stderr).toContain('--max-layer-size');
    expectNoStack(r.stderr);
    expect(writesTo(dst), describeRequests(requestsTo(dst))).toEqual([]);
    // Exactly at the limit is allowed.
    const atLimit = await cli(['-n', proxy.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${dst}:v1`, '--max-layer-size', String(big.size), '-o', 'json']);
    expectExit(atLimit, 0);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
  });

  it('the default layer limit is 2 GiB: a layer of 2 GiB passes, one byte more is refused', async () => {
    // Distribution checks only that a layer blob exists, not its size: a 16-byte blob stands in
    // for the declared sizes, so nothing large is ever moved (the plan reads sizes from the manifest).
    const repo = uniqueRepo('limits/default');
    const blob = await putBlob(token, repo, Buffer.from('sixteen bytes!!!'));
    const config = await putBlob(token, repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
    const manifest = (size: number) => ({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, ...config },
      layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: blob.digest, size }],
    });
    const GiB2 = 2 * 1024 ** 3;
    for (const [tag, size] of [['at', GiB2], ['over', GiB2 + 1]] as const) {
      const put = await putRawManifest(token, repo, tag, manifest(size), MediaTypes.ociManifest);
      expect(put.status, put.body).toBe(201);
    }
    const at = await cli(['-n', proxy.host, '--source', `${token.host}/${repo}:at`, '--dry-run', '-o', 'json']);
    expectExit(at, 0);
    expect(at.json()).toMatchObject({ dryRun: true, totalBytes: GiB2 + config.size });
    const over = await cli(['-n', proxy.host, '--source', `${token.host}/${repo}:over`, '--dry-run']);
    expectExit(over, 5);
    expect(over.stderr).toContain(blob.digest);
    expect(over.stderr).toMatch(/2(\.0)? GiB/);
    expect(writesTo(repo)).toEqual([]);
  });
});
