// How bytes move: mounts within a registry, nothing twice on a re-run, only the missing parts after a
// partial copy, foreign layers, and a dry run that writes nothing. A recording proxy in front of the
// target sees every request.
import { describe, expect, inject, it } from 'vitest';
import { faults, fetchForeignRequests, pushImage, putBlob, putRawManifest, startProxy, stopAfterAll, uniqueRepo, type RecordedRequest } from '../harness/index.js';
import { blobStatus, blobUploads, cli, deleteManifest, describeRequests, expectExit, expectNoStack, listTags, rawManifest, skopeoCopyAll, skopeoRaw } from './helpers.js';

const open = inject('openRegistry');
const token = inject('tokenRegistry');
const foreignServer = inject('foreignLayerServer');

const proxy = await stopAfterAll(startProxy({ upstream: open.url }));
const forRepo = (repo: string, rs: RecordedRequest[] = proxy.requests) => rs.filter((r) => r.repo === repo);

describe('same-registry import', () => {
  it('mounts every blob from the source repository: no blob bytes are uploaded', async () => {
    const srcRepo = uniqueRepo('mount/src');
    const src = await pushImage(open, srcRepo, 'v1', { kind: 'index', platforms: 3, attestations: true });
    const dst = uniqueRepo('mount/dst');
    // Source and target both through the proxy: one registry, as the tool sees it.
    const r = await cli(['-n', proxy.host, '--source', `${proxy.host}/${srcRepo}:v1`, '-t', `${dst}:v1`, '-o', 'json']);
    expectExit(r, 0);
    const out = r.json();
    const blobs = src.blobs.length;
    expect(out.blobs).toEqual({ total: blobs, copied: 0, mounted: blobs, skipped: 0, foreignSkipped: 0 });
    expect(out.bytesCopied).toBe(0);
    const toDst = forRepo(dst);
    expect(blobUploads(toDst), describeRequests(toDst)).toEqual([]);
    const mounts = toDst.filter((r) => r.method === 'POST' && r.path.includes('mount='));
    expect(mounts).toHaveLength(blobs);
    expect(mounts.every((m) => m.status === 201 && m.path.includes(`from=${encodeURIComponent(srcRepo)}`))).toBe(true);
    // No blob was read from the source either: a mount needs no bytes.
    expect(proxy.requests.filter((q) => q.kind === 'blob' && q.method === 'GET')).toEqual([]);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    await skopeoCopyAll(`${open.host}/${dst}:v1`);
  });

  it('with two target repositories the second mounts from the first', async () => {
    const src = await pushImage(token, uniqueRepo('mount/cross-src'), 'v1', { kind: 'image', layers: 2 });
    const a = uniqueRepo('mount/first');
    const b = uniqueRepo('mount/second');
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${a}:v1`, '-t', `${b}:v1`, '-o', 'json']);
    expectExit(r, 0);
    // Counts are per target repository, and add up.
    expect(r.json().blobs).toMatchObject({ total: 6, copied: 3, mounted: 3, skipped: 0 });
    expect(blobUploads(forRepo(b))).toEqual([]);
    expect(blobUploads(forRepo(a)).length).toBeGreaterThan(0);
    expect((await skopeoRaw(`${open.host}/${b}:v1`)).equals(src.bytes)).toBe(true);
    await skopeoCopyAll(`${open.host}/${b}:v1`);
  });
});

describe('re-runs', () => {
  it('a second identical import sends no write request, only HEADs to the target', async () => {
    const src = await pushImage(token, uniqueRepo('rerun/src'), 'v1', { kind: 'index', platforms: 2, attestations: true });
    const dst = uniqueRepo('rerun/dst');
    const args = ['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '-o', 'json'];
    expectExit(await cli(args), 0);
    const before = proxy.requests.length;
    const r = await cli(args);
    expectExit(r, 0);
    const second = proxy.requests.slice(before);
    // HEADs only, not even a GET /v2/: the target is reached through the recording proxy.
    expect(second.length).toBeGreaterThan(0);
    expect(second.every((q) => q.method === 'HEAD'), describeRequests(second)).toBe(true);
    expect(second.filter((q) => q.method !== 'GET' && q.method !== 'HEAD')).toEqual([]);
    expect(r.json().targets).toEqual([{ reference: `${proxy.host}/${dst}:v1`, action: 'unchanged' }]);
    expect(r.json()).toMatchObject({ upToDate: true, sourceDigest: src.digest });
  });

  it('a re-run with nothing to do costs no manifest GET on the source (HEADs only: no Docker Hub pull)', async () => {
    const src = await pushImage(token, uniqueRepo('rerun/quota-src'), 'v1', { kind: 'index', platforms: 2 });
    const sourceProxy = await stopAfterAll(startProxy({ upstream: token.url }));
    const dst = uniqueRepo('rerun/quota');
    const args = ['-n', open.host, '--source', `${sourceProxy.host}/${src.repo}:v1`, '-t', `${dst}:v1`];
    expectExit(await cli(args), 0);
    sourceProxy.clear();
    expectExit(await cli(args), 0);
    const manifestReads = sourceProxy.requests.filter((q) => q.kind === 'manifest');
    expect(manifestReads.length).toBeGreaterThan(0);
    expect(manifestReads.every((q) => q.method === 'HEAD'), describeRequests(sourceProxy.requests)).toBe(true);
    expect(sourceProxy.requests.filter((q) => q.kind === 'blob')).toEqual([]);
  });

  it('after the root manifest was deleted, a re-run puts back only the index and the tag', async () => {
    const src = await pushImage(token, uniqueRepo('rerun/partial-src'), 'v1', { kind: 'index', platforms: 2 });
    const dst = uniqueRepo('rerun/partial');
    const args = ['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '-o', 'json'];
    expectExit(await cli(args), 0);
    // Deleting the index by digest takes its tag with it; children and blobs stay.
    await deleteManifest(open.url, dst, src.digest);
    expect(await rawManifest(open.url, dst, 'v1')).toBeUndefined();
    const before = proxy.requests.length;
    const r = await cli(args);
    expectExit(r, 0);
    const writes = proxy.requests.slice(before).filter((q) => q.method !== 'GET' && q.method !== 'HEAD');
    expect(blobUploads(writes)).toEqual([]);
    // One write: the index, by its tag. No blob, no child manifest, not the index twice.
    expect(writes.map((q) => `${q.method} ${q.kind} ${q.reference}`), describeRequests(writes)).toEqual(['PUT manifest v1']);
    expect(r.json().blobs).toMatchObject({ copied: 0, mounted: 0, skipped: src.blobs.length });
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
  });

  it('a target that holds some of the blobs gets only the others', async () => {
    const src = await pushImage(token, uniqueRepo('rerun/some-src'), 'v1', { kind: 'image', layers: 4 });
    const dst = uniqueRepo('rerun/some');
    // Half the blobs (config + 1 layer) are in the target already.
    const present = [src.config!, src.layers[0]!];
    for (const b of present) await putBlob(open, dst, b.bytes!);
    const missing = src.blobs.filter((b) => !present.some((p) => p.digest === b.digest));
    const before = proxy.requests.length;
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().blobs).toMatchObject({ total: 5, copied: 3, skipped: 2, mounted: 0 });
    const run = proxy.requests.slice(before);
    // Each upload session is finished by a PUT ?digest=…: exactly the missing blobs, once each.
    const finished = run.filter((q) => q.kind === 'upload' && q.method === 'PUT').map((q) => decodeURIComponent(/[?&]digest=([^&]+)/.exec(q.path)![1]!));
    expect(finished.sort()).toEqual(missing.map((b) => b.digest).sort());
    // Manifests: the image once, by its tag.
    expect(run.filter((q) => q.kind === 'manifest' && q.method === 'PUT').map((q) => q.reference)).toEqual(['v1']);
    await skopeoCopyAll(`${open.host}/${dst}:v1`);
  });

  it('a first import writes each child manifest by digest once, and the index only with its tags', async () => {
    const src = await pushImage(token, uniqueRepo('rerun/order-src'), 'v1', { kind: 'index', platforms: 2 });
    const dst = uniqueRepo('rerun/order');
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '-t', `${dst}:v1.0`]);
    expectExit(r, 0);
    const puts = forRepo(dst).filter((q) => q.kind === 'manifest' && q.method === 'PUT');
    const children = src.children.map((c) => c.digest);
    expect(puts.map((q) => q.reference).sort()).toEqual([...children, 'v1', 'v1.0'].sort());
    // Children first, tags last.
    const lastChild = Math.max(...children.map((d) => puts.findIndex((q) => q.reference === d)));
    expect(lastChild).toBeLessThan(puts.findIndex((q) => q.reference === 'v1'));
    expect(puts.every((q) => q.status === 201)).toBe(true);
  });
});

describe('round trips', () => {
  /** The most requests of `rs` that were in flight at one moment (at the proxy). */
  const mostAtOnce = (rs: RecordedRequest[]) => {
    const edges = rs.flatMap((r) => [[r.startedAt, 1] as const, [r.startedAt + r.durationMs, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    let most = 0;
    for (const [, step] of edges) most = Math.max(most, (now += step));
    return most;
  };

  it('a first import asks the target once per blob, and not for manifests whose blobs it lacks', async () => {
    const src = await pushImage(token, uniqueRepo('trips/src'), 'v1', { kind: 'index', platforms: 3, attestations: true });
    const dst = uniqueRepo('trips/dst');
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '-o', 'json']);
    expectExit(r, 0);
    const toDst = forRepo(dst);
    const blobHeads = toDst.filter((q) => q.kind === 'blob' && q.method === 'HEAD').map((q) => q.reference);
    expect(blobHeads.sort()).toEqual([...new Set(src.blobs.map((b) => b.digest))].sort());
    // The tag is asked (is it there, and what does it hold?); no manifest by digest: each lacked a blob.
    const manifestHeads = toDst.filter((q) => q.kind === 'manifest' && q.method === 'HEAD').map((q) => q.reference);
    expect(manifestHeads, describeRequests(toDst)).toEqual(['v1']);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    await skopeoCopyAll(`${open.host}/${dst}:v1`);
  });

  it('a child manifest whose blobs are all in the target is asked for, and sent only if missing', async () => {
    const src = await pushImage(token, uniqueRepo('trips/partial-src'), 'v1', { kind: 'index', platforms: 2 });
    const dst = uniqueRepo('trips/partial');
    const args = ['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '-o', 'json'];
    expectExit(await cli(args), 0);
    // The index (and with it the tag) and one child go; the other child and every blob stay.
    const [gone, kept] = src.children.map((c) => c.digest) as [string, string];
    await deleteManifest(open.url, dst, src.digest);
    await deleteManifest(open.url, dst, gone);
    const before = proxy.requests.length;
    const r = await cli(args);
    expectExit(r, 0);
    const run = forRepo(dst, proxy.requests.slice(before));
    const heads = run.filter((q) => q.kind === 'manifest' && q.method === 'HEAD').map((q) => q.reference);
    expect(heads.sort()).toEqual([gone, kept, 'v1'].sort());
    const puts = run.filter((q) => q.kind === 'manifest' && q.method === 'PUT').map((q) => q.reference);
    expect(puts, describeRequests(run)).toEqual([gone, 'v1']);
    expect(blobUploads(run)).toEqual([]);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    await skopeoCopyAll(`${open.host}/${dst}:v1`);
  });

  it('a target that denies having its blobs gets them, and the manifests that list them, again: identical bytes', async () => {
    const src = await pushImage(token, uniqueRepo('trips/deny-src'), 'v1', { kind: 'index', platforms: 2 });
    const dst = uniqueRepo('trips/deny');
    expectExit(await cli(['-n', open.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`]), 0);
    await deleteManifest(open.url, dst, src.digest);
    // Every blob HEAD answers 404 although every blob is there.
    const denying = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'blob' && q.method === 'HEAD' ? faults.status(404, { body: '' }) : undefined) }));
    const r = await cli(['-n', denying.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().blobs).toMatchObject({ copied: src.blobs.length, skipped: 0 });
    // Its children were not asked for (their blobs seemed missing) and went up again, then the index.
    const run = forRepo(dst, denying.requests);
    expect(run.filter((q) => q.kind === 'manifest' && q.method === 'HEAD').map((q) => q.reference)).toEqual(['v1']);
    expect(run.filter((q) => q.kind === 'manifest' && q.method === 'PUT').map((q) => q.reference).sort()).toEqual([...src.children.map((c) => c.digest), 'v1'].sort());
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    await skopeoCopyAll(`${open.host}/${dst}:v1`);
  });

  it('small blobs move at twice --concurrency, large ones at --concurrency', async () => {
    // Every upload's last PUT is held 300 ms at the proxy, so transfers overlap as far as the limits let them.
    const slow = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'upload' && q.method === 'PUT' ? { kind: 'delay', ms: 300 } : undefined) }));
    const small = await pushImage(token, uniqueRepo('trips/small-src'), 'v1', { kind: 'image', layers: 8, layerSize: 4096 });
    const big = await pushImage(token, uniqueRepo('trips/big-src'), 'v1', { kind: 'image', layers: 4, layerSize: 1536 * 1024 });
    for (const [src, dst] of [[small, uniqueRepo('trips/small')], [big, uniqueRepo('trips/big')]] as const) {
      expectExit(await cli(['-n', slow.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--concurrency', '2']), 0);
      await skopeoCopyAll(`${open.host}/${dst}:v1`);
    }
    const finishing = (digests: string[]) => slow.requests.filter((q) => q.kind === 'upload' && q.method === 'PUT' && digests.some((d) => decodeURIComponent(q.path).includes(`digest=${d}`)));
    expect(mostAtOnce(finishing(small.layers.map((l) => l.digest)))).toBe(4);
    expect(mostAtOnce(finishing(big.layers.map((l) => l.digest)))).toBe(2);
  });
});

describe('foreign layers', () => {
  const foreignImage = () =>
    pushImage(token, uniqueRepo('foreign/src'), 'v1', {
      kind: 'image',
      mediaTypes: 'docker',
      platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.6414' },
      layers: [{ size: 3000, foreign: { serverUrl: foreignServer.url } }, { size: 500 }],
    });

  it('are skipped by default with a note: the manifest is byte-identical, the blob absent from the target', async () => {
    const src = await foreignImage();
    const foreign = src.blobs.find((b) => !b.pushed)!;
    expect(foreign.urls?.length).toBe(1);
    const dst = uniqueRepo('foreign/skip');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '-o', 'json']);
    expectExit(r, 0);
    const out = r.json();
    expect(out.blobs).toMatchObject({ total: 2, copied: 2, foreignSkipped: 1 });
    expect(r.stderr).toContain(foreign.digest);
    expect(r.stderr).toContain('--include-foreign-layers');
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    expect(await blobStatus(open.url, dst, foreign.digest)).toBe(404);
    for (const b of src.blobs.filter((x) => x.pushed)) expect(await blobStatus(open.url, dst, b.digest)).toBe(200);
  });

  it('--include-foreign-layers fetches them from their urls (without credentials) and pushes them', async () => {
    const src = await foreignImage();
    const foreign = src.blobs.find((b) => !b.pushed)!;
    const dst = uniqueRepo('foreign/include');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--include-foreign-layers', '--allow-foreign-layer-host', '127.0.0.1', '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().blobs).toMatchObject({ total: 3, copied: 3, foreignSkipped: 0 });
    expect(await blobStatus(open.url, dst, foreign.digest)).toBe(200);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    const path = new URL(foreign.urls![0]!).pathname;
    const fetched = (await fetchForeignRequests(foreignServer.url)).filter((q) => q.path === path && q.method === 'GET');
    expect(fetched.length).toBeGreaterThan(0);
    expect(fetched.every((q) => !q.hadAuthorization)).toBe(true);
  });

  it('--include-foreign-layers with a dead URL fails with its address, and writes no tag', async () => {
    const src = await foreignImage();
    const json = JSON.parse(src.bytes.toString()) as { layers: { urls?: string[] }[] };
    const dead = `${foreignServer.url}/layers/gone/1/gzip/sha256:${'0'.repeat(64)}`;
    json.layers[0]!.urls = [dead];
    const put = await putRawManifest(token, src.repo, 'dead', json, src.mediaType);
    expect(put.status, put.body).toBe(201);
    const dst = uniqueRepo('foreign/dead');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${src.repo}:dead`, '-t', `${dst}:v1`, '--include-foreign-layers', '--allow-foreign-layer-host', '127.0.0.1', '--retries', '0']);
    expectExit(r, 4);
    expect(r.stderr).toContain(dead);
    expectNoStack(r.stderr);
    expect(await listTags(open.url, dst)).toEqual([]);
  });

  it('a skipped foreign layer does not count against --max-layer-size; an included one does', async () => {
    const src = await pushImage(token, uniqueRepo('foreign/big-src'), 'v1', {
      kind: 'image',
      mediaTypes: 'docker',
      layers: [{ size: 2 * 1024 * 1024, foreign: { serverUrl: foreignServer.url } }, { size: 100 }],
    });
    const dst = uniqueRepo('foreign/big');
    const skipped = await cli(['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--max-layer-size', '1MiB', '--dry-run']);
    expectExit(skipped, 0);
    const included = await cli(['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--max-layer-size', '1MiB', '--include-foreign-layers', '--dry-run']);
    expectExit(included, 5);
    expect(included.stderr).toContain('--max-layer-size');
  });
});

describe('--dry-run', () => {
  it('writes nothing, prints the plan on stderr, and says dryRun in json', async () => {
    const src = await pushImage(token, uniqueRepo('dry/src'), 'v1', { kind: 'index', platforms: 2 });
    const dst = uniqueRepo('dry/dst');
    const r = await cli(['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--dry-run', '-o', 'json']);
    expectExit(r, 0);
    expect(forRepo(dst).filter((q) => q.method !== 'GET' && q.method !== 'HEAD')).toEqual([]);
    // A dry run asks the target for its tag only: no blob is checked for a copy that will not happen.
    expect(forRepo(dst).filter((q) => q.kind === 'blob')).toEqual([]);
    const out = r.json();
    expect(out.dryRun).toBe(true);
    expect(out.targets).toEqual([{ reference: `${proxy.host}/${dst}:v1`, action: 'would-create' }]);
    expect(out.blobs).toMatchObject({ total: src.blobs.length, copied: 0, mounted: 0, skipped: 0 });
    expect(out.totalBytes).toBe(src.blobs.reduce((n, b) => n + b.size, 0));
    expect(out.manifestCount).toBe(3);
    // The plan, for people: what would be imported, its platforms, where to.
    expect(r.stderr).toContain(src.digest);
    expect(r.stderr).toContain('linux/amd64');
    expect(r.stderr).toContain('linux/arm64/v8');
    expect(r.stderr).toContain(`${proxy.host}/${dst}:v1`);
    expect(r.stderr).toMatch(/would/i);
    expect(await listTags(open.url, dst)).toEqual([]);
    // Text mode prints the same plan and nothing on stdout.
    const text = await cli(['-n', proxy.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--dry-run']);
    expectExit(text, 0);
    expect(text.stdout).toBe('');
    expect(text.stderr).toContain('linux/arm64/v8');
  });
});
