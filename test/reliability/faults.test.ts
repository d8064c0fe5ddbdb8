// Faults injected by a proxy in front of real registries: rate limits, server errors, dropped
// connections, cut bodies, expired tokens, stalls, failing mounts, vanished upload sessions.
// Each import must end with the image complete and byte-identical, or fail cleanly.
import { describe, expect, inject, it } from 'vitest';
import { faults, failFirst, pushImage, startProxy, stopAfterAll, uniqueRepo, type FaultHook, type ProxyRequestInfo, type RunningProxy } from '../harness/index.js';
import { cli, expectExit, expectNoStack, skopeoCopyAll, skopeoRaw, listTags, describeRequests } from '../import/helpers.js';

const open = inject('openRegistry');
const token = inject('tokenRegistry');


async function seeded(platforms = 2, layerSize = 300 * 1024) {
  const repo = uniqueRepo('src');
  const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms, layersPerImage: 2, layerSize });
  return { repo, image };
}

/** Imports from the open registry through `source` proxy into the open registry through `target` proxy. */
async function importVia(source: RunningProxy, target: RunningProxy, repo: string, extra: string[] = []) {
  const dest = uniqueRepo('dst');
  const r = await cli(['--name', target.host, '--source', `${source.host}/${repo}:v1`, '-t', `${dest}:v1`, '--retries', '4', '-o', 'json', ...extra]);
  return { r, dest };
}

async function proxies(sourceHook?: FaultHook, targetHook?: FaultHook) {
  const source = await stopAfterAll(startProxy({ upstream: open.url, hook: sourceHook }));
  const target = await stopAfterAll(startProxy({ upstream: open.url, hook: targetHook }));
  return { source, target };
}

async function expectComplete(targetHost: string, dest: string, digest: string) {
  const raw = await skopeoRaw(`${targetHost}/${dest}:v1`);
  expect(`sha256:${(await import('node:crypto')).createHash('sha256').update(raw).digest('hex')}`).toBe(digest);
  // skopeo copy --all checks every manifest and blob digest.
  expect((await skopeoCopyAll(`${targetHost}/${dest}:v1`)).length).toBeGreaterThan(3);
}

const isManifestGet = (r: ProxyRequestInfo) => r.kind === 'manifest' && r.method === 'GET';
const isBlobGet = (r: ProxyRequestInfo) => r.kind === 'blob' && r.method === 'GET';
const isManifestPut = (r: ProxyRequestInfo) => r.kind === 'manifest' && r.method === 'PUT';

describe('rate limits', () => {
  it('waits out a 429 with Retry-After in seconds, pausing every request to that host', async () => {
    const { repo, image } = await seeded(3);
    const { source, target } = await proxies(failFirst(1, isBlobGet, faults.status(429, { retryAfter: 1 })));
    const { r, dest } = await importVia(source, target, repo, ['--concurrency', '4']);
    expectExit(r, 0);
    await expectComplete(open.host, dest, image.digest);
    const limited = source.requests.find((q) => q.status === 429)!;
    expect(limited).toBeDefined();
    // Shared backoff: nothing new started at that host during the second it asked for (a request
    // that passed its turn before the 429 came back may still arrive: on a loaded machine, late).
    const during = source.requests.filter((q) => q.startedAt > limited.startedAt + 150 && q.startedAt < limited.startedAt + 900);
    expect(describeRequests(during)).toBe('');
  });

  it('reads Retry-After as an HTTP date', async () => {
    const { repo, image } = await seeded(1);
    const { source, target } = await proxies(failFirst(1, isManifestGet, () => faults.status(429, { retryAfter: new Date(Date.now() + 2000).toUTCString() })));
    const t0 = Date.now();
    const { r, dest } = await importVia(source, target, repo);
    expectExit(r, 0);
    // HTTP dates have whole seconds: 2 s ahead is at least 1 s of waiting.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    await expectComplete(open.host, dest, image.digest);
  });

  it('backs off on a 429 without Retry-After, and on a 429 to a manifest PUT', async () => {
    const { repo, image } = await seeded(1);
    const { source, target } = await proxies(failFirst(2, isManifestGet, faults.status(429)), failFirst(2, isManifestPut, faults.status(429)));
    const { r, dest } = await importVia(source, target, repo);
    expectExit(r, 0);
    expect(target.requests.filter((q) => q.kind === 'manifest' && q.method === 'PUT' && q.status === 429)).toHaveLength(2);
    await expectComplete(open.host, dest, image.digest);
  });

  it('shows Docker Hub style rate-limit headers in json output and --debug', async () => {
    const { repo, image } = await seeded(1);
    const rl = { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' };
    const source = await stopAfterAll(startProxy({ upstream: open.url }));
    // Answer manifest requests with the registry's bytes plus the headers Docker Hub adds.
    source.setHook((q) =>
      q.kind === 'manifest' && q.reference === 'v1'
        ? { kind: 'respond', status: 200, headers: { 'content-type': image.mediaType, 'docker-content-digest': image.digest, ...rl }, body: q.method === 'HEAD' ? '' : image.bytes }
        : undefined,
    );
    const dest = uniqueRepo('dst');
    const r = await cli(['--name', open.host, '--source', `${source.host}/${repo}:v1`, '-t', `${dest}:v1`, '-o', 'json', '--debug']);
    expectExit(r, 0);
    expect(r.json()).toMatchObject({ rateLimit: { limit: '100;w=21600', remaining: '76;w=21600' } });
    expect(r.stderr).toContain('ratelimit-remaining: 76;w=21600');
  });

  it('gives up after the retries with an error naming the registry, the request and the status', async () => {
    const { repo } = await seeded(1);
    const { source, target } = await proxies((q) => (q.kind === 'manifest' ? faults.status(503) : undefined));
    const { r } = await importVia(source, target, repo, ['--retries', '1']);
    expectExit(r, 7);
    expectNoStack(r.stderr);
    expect(r.stderr).toContain(source.host);
    expect(r.stderr).toMatch(/HEAD .*\/manifests\/v1/);
    expect(r.stderr).toContain('HTTP 503');
  });
});

describe('server errors and broken connections', () => {
  for (const status of [500, 502, 503, 504]) {
    it(`survives ${status} on blob and manifest requests`, async () => {
      const { repo, image } = await seeded(1);
      const { source, target } = await proxies(failFirst(1, isBlobGet, faults.status(status)), failFirst(1, (q) => q.kind === 'upload' || isManifestPut(q), faults.status(status)));
      const { r, dest } = await importVia(source, target, repo);
      expectExit(r, 0);
      await expectComplete(open.host, dest, image.digest);
    });
  }

  it('survives connection resets before an answer', async () => {
    const { repo, image } = await seeded(2);
    const { source, target } = await proxies(failFirst(2, (q) => q.kind === 'blob' || q.kind === 'manifest', faults.reset()), failFirst(2, (q) => q.kind === 'upload' && q.method === 'POST', faults.reset()));
    const { r, dest } = await importVia(source, target, repo);
    expectExit(r, 0);
    await expectComplete(open.host, dest, image.digest);
  });

  it('resumes a source blob cut off mid-body with a Range request', async () => {
    const { repo, image } = await seeded(1, 3 * 1024 * 1024);
    const large = image.blobs.find((b) => b.size > 2 * 1024 * 1024)!;
    const { source, target } = await proxies(failFirst(1, (q) => isBlobGet(q) && q.reference === large.digest, faults.cut(1024 * 1024)));
    const { r, dest } = await importVia(source, target, repo);
    expectExit(r, 0);
    const gets = source.requests.filter((q) => isBlobGet(q) && q.reference === large.digest);
    expect(gets.map((q) => q.requestHeaders.range ?? 'all')).toEqual(['all', expect.stringMatching(/^bytes=[1-9]\d*-$/)]);
    await expectComplete(open.host, dest, image.digest);
  });

  it('copies a blob again when the upload PATCH breaks midway', async () => {
    const { repo, image } = await seeded(1, 3 * 1024 * 1024);
    const { source, target } = await proxies(undefined, failFirst(1, (q) => q.method === 'PATCH', faults.reset()));
    const { r, dest } = await importVia(source, target, repo);
    expectExit(r, 0);
    await expectComplete(open.host, dest, image.digest);
  });

  it('starts a new upload when the session vanishes (404 BLOB_UPLOAD_UNKNOWN on PATCH)', async () => {
    const { repo, image } = await seeded(1, 2 * 1024 * 1024);
    const vanished = { kind: 'respond' as const, status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errors: [{ code: 'BLOB_UPLOAD_UNKNOWN', message: 'blob upload unknown to registry' }] }) };
    const { source, target } = await proxies(undefined, failFirst(1, (q) => q.method === 'PATCH', vanished));
    const { r, dest } = await importVia(source, target, repo);
    expectExit(r, 0);
    expect(target.requests.filter((q) => q.method === 'PATCH' && q.status === 404)).toHaveLength(1);
    await expectComplete(open.host, dest, image.digest);
  });

  it('gives up on a stalled server after --timeout and retries', async () => {
    const { repo, image } = await seeded(1);
    const { source, target } = await proxies(failFirst(1, isManifestGet, faults.delay(4000)));
    const t0 = Date.now();
    const { r, dest } = await importVia(source, target, repo, ['--timeout', '1']);
    expectExit(r, 0);
    expect(Date.now() - t0).toBeLessThan(3900);
    await expectComplete(open.host, dest, image.digest);
  });

  it('falls back to an upload when a same-registry mount errors', async () => {
    const { repo, image } = await seeded(1);
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.method === 'POST' && q.path.includes('mount=') ? faults.status(500) : undefined) }));
    const dest = uniqueRepo('dst');
    const r = await cli(['--name', proxy.host, '--source', `${proxy.host}/${repo}:v1`, '-t', `${dest}:v1`, '--retries', '1', '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().blobs).toMatchObject({ mounted: 0, copied: image.blobs.length });
    expect(r.stderr).toMatch(/Mount of sha256:\w+ from .* failed/);
    await expectComplete(open.host, dest, image.digest);
  });
});

describe('expired tokens', () => {
  it('re-authenticates after a 401 mid-copy and finishes', async () => {
    const repo = uniqueRepo('src');
    const image = await pushImage(token, repo, 'v1', { kind: 'index', platforms: 2 });
    const challenge = `Bearer realm="${token.realm}",service="${token.service}",scope="repository:${repo}:pull"`;
    const expired = { kind: 'respond' as const, status: 401, headers: { 'www-authenticate': challenge, 'content-type': 'application/json' }, body: JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'token expired' }] }) };
    const proxy = await stopAfterAll(startProxy({ upstream: token.url, hook: failFirst(2, (q) => (q.kind === 'blob' || isManifestPut(q)) && Boolean(q.headers.authorization), expired) }));
    const dest = uniqueRepo('dst');
    const r = await cli(['--name', proxy.host, '--source', `${proxy.host}/${repo}:v1`, '-t', `${dest}:v1`, '--target-username', token.username, '--target-password', token.password, '-u', token.username, '-p', token.password]);
    expectExit(r, 0);
    expect(proxy.requests.filter((q) => q.status === 401 && q.requestHeaders.authorization).length).toBe(2);
    expect(await listTags(open.url, dest)).toEqual([]); // different registry: sanity that we did not write to the open one
    const raw = await skopeoRaw(`${token.host}/${dest}:v1`, { username: token.username, password: token.password });
    expect(raw.equals(image.bytes)).toBe(true);
  });
});
