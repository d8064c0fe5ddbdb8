// Failures in the middle of a copy: corrupt blobs are refused and leave no tag behind; a failing
// mount falls back to an upload; low concurrency does not deadlock.
import { describe, expect, inject, it } from 'vitest';
import { faults, pushImage, seededBytes, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { blobUploads, cli, expectExit, expectNoStack, listTags, skopeoCopyAll, skopeoRaw } from './helpers.js';

const open = inject('openRegistry');
const token = inject('tokenRegistry');

describe('corrupt source blobs', () => {
  // Small blobs go up in one PUT, larger ones stream through a PATCH: both paths must refuse.
  it.each([
    ['a small layer (one PUT)', 1000],
    ['a 2 MiB layer (streamed PATCH)', 2 * 1024 * 1024],
  ])('%s whose bytes do not match its digest: exit 9, and no tag is written', async (_name, size) => {
    const src = await pushImage(open, uniqueRepo('corrupt/src'), 'v1', { kind: 'image', layers: [{ size }] });
    const layer = src.layers[0]!;
    const proxy = await stopAfterAll(startProxy({ upstream: open.url }));
    // Same length, other bytes: only the digest check can tell.
    proxy.setHook((q) =>
      q.kind === 'blob' && q.method === 'GET' && q.reference === layer.digest
        ? { kind: 'respond', status: 200, headers: { 'content-type': 'application/octet-stream' }, body: seededBytes('not-the-layer', layer.size) }
        : undefined,
    );
    const dst = uniqueRepo('corrupt/dst');
    const r = await cli(['-n', token.host, '--source', `${proxy.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--target-username', token.username, '--target-password', token.password, '--retries', '1']);
    expectExit(r, 9);
    expect(r.stderr).toContain(layer.digest);
    expectNoStack(r.stderr);
    // Nothing points at an incomplete image.
    await expect(skopeoRaw(`${token.host}/${dst}:v1`, { username: token.username, password: token.password })).rejects.toThrow(/manifest unknown|not found|MANIFEST_UNKNOWN|NAME_UNKNOWN/i);
  });
});

describe('mount failures', () => {
  it('a registry that fails every mount gets the blobs uploaded instead', async () => {
    const src = await pushImage(open, uniqueRepo('mountfail/src'), 'v1', { kind: 'index', platforms: 2 });
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'upload' && q.method === 'POST' && q.path.includes('mount=') ? faults.status(500) : undefined) }));
    const dst = uniqueRepo('mountfail/dst');
    const r = await cli(['-n', proxy.host, '--source', `${proxy.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--retries', '0', '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().blobs).toMatchObject({ total: src.blobs.length, copied: src.blobs.length, mounted: 0 });
    expect(blobUploads(proxy.requests.filter((q) => q.repo === dst)).length).toBeGreaterThan(0);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    await skopeoCopyAll(`${open.host}/${dst}:v1`);
  });
});

describe('concurrency', () => {
  it('--concurrency 1 with a nested index and two target repositories completes', async () => {
    const src = await pushImage(token, uniqueRepo('conc/src'), 'v1', { kind: 'index', platforms: 2, attestations: true, children: [{ kind: 'index', platforms: 2 }] });
    const a = uniqueRepo('conc/a');
    const b = uniqueRepo('conc/b');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${a}:v1`, '-t', `${b}:v1`, '--repository', uniqueRepo('conc/c'), '--concurrency', '1', '-o', 'json']);
    expectExit(r, 0);
    expect((await skopeoRaw(`${open.host}/${a}:v1`)).equals(src.bytes)).toBe(true);
    expect((await skopeoRaw(`${open.host}/${b}:v1`)).equals(src.bytes)).toBe(true);
    expect(await listTags(open.url, b)).toEqual(['v1']);
  });

  it('a digest source with -t is tagged in the target', async () => {
    const src = await pushImage(token, uniqueRepo('conc/digest-src'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('conc/digest-dst');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${src.repo}@${src.digest}`, '-t', `${dst}:pinned`, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().targets).toEqual([{ reference: `${open.host}/${dst}:pinned`, action: 'created' }]);
    expect((await skopeoRaw(`${open.host}/${dst}:pinned`)).equals(src.bytes)).toBe(true);
  });
});
