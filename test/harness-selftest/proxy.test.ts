import { Agent, request } from 'undici';
import { describe, expect, inject, test } from 'vitest';
import { blobSize, createTestCA, failFirst, faults, pushImage, sha256, startBlobCdn, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { makeTempDir, removeTempDir } from '../harness/util.js';

describe('fault proxy', () => {
  test('records requests and rewrites Location to itself', async () => {
    const reg = inject('openRegistry');
    const proxy = await stopAfterAll(startProxy({ upstream: reg.url }));
    const repo = uniqueRepo('selftest/proxy');
    const pushed = await pushImage(proxy, repo, 'v1', { kind: 'image' });
    const kinds = proxy.requests.map((r) => `${r.method} ${r.kind} ${r.status}`);
    expect(kinds).toContain('PUT manifest 201');
    expect(kinds.filter((k) => k === 'POST upload 202')).toHaveLength(2); // layer + config
    const post = proxy.requests.find((r) => r.method === 'POST')!;
    expect(post.responseHeaders.location?.startsWith(`${proxy.url}/v2/${repo}/blobs/uploads/`)).toBe(true);
    expect(proxy.writeRequests().every((r) => r.method !== 'GET' && r.method !== 'HEAD')).toBe(true);
    proxy.clear();
    const res = await request(`${proxy.url}/v2/${repo}/manifests/v1`, { headers: { accept: pushed.mediaType } });
    expect(Buffer.from(await res.body.arrayBuffer()).equals(pushed.bytes)).toBe(true);
    expect(proxy.requests).toHaveLength(1);
    expect(proxy.requests[0]).toMatchObject({ method: 'GET', kind: 'manifest', repo, reference: 'v1', status: 200, requestHeaders: { accept: pushed.mediaType } });
  });

  test('injects 429 with Retry-After, HTML 503, connection reset and a cut body', async () => {
    const reg = inject('openRegistry');
    const repo = uniqueRepo('selftest/faults');
    const pushed = await pushImage(reg, repo, 'v1', { kind: 'image', layerSize: 200_000 });
    const layer = pushed.layers[0]!;
    const hook = failFirst(1, (r) => r.kind === 'manifest', faults.status(429, { retryAfter: 2 }));
    const proxy = await stopAfterAll(startProxy({ upstream: reg.url, hook }));
    const dispatcher = new Agent({ pipelining: 0 });

    const r1 = await request(`${proxy.url}/v2/${repo}/manifests/v1`, { dispatcher });
    await r1.body.dump();
    expect(r1.statusCode).toBe(429);
    expect(r1.headers['retry-after']).toBe('2');
    const r2 = await request(`${proxy.url}/v2/${repo}/manifests/v1`, { dispatcher, headers: { accept: pushed.mediaType } });
    expect(Buffer.from(await r2.body.arrayBuffer()).equals(pushed.bytes)).toBe(true);
    expect(hook.count()).toBe(1);

    proxy.setHook(() => faults.html(503));
    const r3 = await request(`${proxy.url}/v2/`, { dispatcher });
    expect(r3.statusCode).toBe(503);
    expect(await r3.body.text()).toContain('<html>');

    proxy.setHook((r) => (r.kind === 'blob' ? faults.reset() : undefined));
    await expect(request(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`, { dispatcher }).then((r) => r.body.dump())).rejects.toThrow();

    proxy.setHook((r) => (r.kind === 'blob' ? faults.cut(1000) : undefined));
    const cut = await request(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`, { dispatcher });
    expect(cut.statusCode).toBe(200);
    expect(cut.headers['content-length']).toBe(String(layer.size));
    await expect(cut.body.arrayBuffer()).rejects.toThrow();

    proxy.setHook((r) => (r.kind === 'blob' ? faults.delay(300) : undefined));
    const t0 = Date.now();
    const slow = await request(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`, { dispatcher });
    expect(sha256(Buffer.from(await slow.body.arrayBuffer()))).toBe(layer.digest);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);

    const recorded = proxy.requests.map((r) => [r.fault ?? '-', r.status]);
    expect(recorded).toEqual([
      ['respond', 429],
      ['-', 200],
      ['respond', 503],
      ['reset', 0],
      ['cut', 200],
      ['delay', 200],
    ]);
    expect(proxy.requests[4]!.bytesSent).toBe(1000);
    await dispatcher.close();
  });

  test('redirects blob GETs to the blob CDN, which records Authorization', async () => {
    const reg = inject('htpasswdRegistry');
    const repo = uniqueRepo('selftest/cdn');
    const pushed = await pushImage(reg, repo, 'v1', { kind: 'image' });
    const cdn = await stopAfterAll(startBlobCdn({ registry: reg, rejectAuthorization: true }));
    const proxy = await stopAfterAll(startProxy({ upstream: reg.url, hook: cdn.redirectBlobGets() }));
    const auth = `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString('base64')}`;
    const layer = pushed.layers[0]!;
    const r = await request(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`, { headers: { authorization: auth } });
    await r.body.dump();
    expect(r.statusCode).toBe(307);
    const loc = String(r.headers.location);
    expect(loc.startsWith(`${cdn.url}/blobs/${repo}/${layer.digest}?sig=`)).toBe(true);
    const good = await request(loc);
    expect(sha256(Buffer.from(await good.body.arrayBuffer()))).toBe(layer.digest);
    const ranged = await request(loc, { headers: { range: 'bytes=0-9' } });
    expect(ranged.statusCode).toBe(206);
    expect(Buffer.from(await ranged.body.arrayBuffer()).equals(layer.bytes!.subarray(0, 10))).toBe(true);
    const leaked = await request(loc, { headers: { authorization: auth } });
    await leaked.body.dump();
    expect(leaked.statusCode).toBe(400);
    expect(cdn.requests.map((x) => [x.hadAuthorization, x.status])).toEqual([
      [false, 200],
      [false, 206],
      [true, 400],
    ]);
  });

  test('streams a chunked upload through, and speaks TLS on both sides', async () => {
    const tlsReg = inject('tlsRegistry');
    const dir = makeTempDir('selftest-proxy-ca');
    try {
      const ca = await createTestCA(dir, 'proxy test CA');
      const proxy = await stopAfterAll(startProxy({ upstream: { url: tlsReg.url, ca: tlsReg.ca }, tls: ca }));
      expect(proxy.url.startsWith('https://')).toBe(true);
      const repo = uniqueRepo('selftest/proxy-stream');
      const img = await pushImage({ url: proxy.url, ca: ca.certPem }, repo, 'v1', { kind: 'image', layers: [{ size: 16 * 1024 * 1024, stream: true }] });
      const patch = proxy.requests.find((r) => r.method === 'PATCH')!;
      expect(patch.requestHeaders['transfer-encoding']).toBe('chunked');
      expect(patch.status).toBe(202);
      expect(patch.responseHeaders.location?.startsWith(`${proxy.url}/v2/${repo}/blobs/uploads/`)).toBe(true);
      expect(await blobSize(tlsReg, repo, img.layers[0]!.digest)).toBe(img.layers[0]!.size);
    } finally {
      removeTempDir(dir);
    }
  });
});
