/**
 * Pins down what Distribution 2.8.2 actually does, so tests of the tool can
 * rely on (or deliberately work around) it. If a Debian update changes one of
 * these, this file says which assumption broke.
 */
import { request } from 'undici';
import { describe, expect, inject, test } from 'vitest';
import { MediaTypes, pushImage, seededBytes, sha256, startTokenRegistry, stopAfterAll, uniqueRepo } from '../harness/index.js';

const text = async (p: ReturnType<typeof request>) => {
  const r = await p;
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
};

describe('Distribution 2.8 behaviour', () => {
  test('manifests: OCI types only with an explicit OCI Accept; DELETE by digest only; no referrers API', async () => {
    const reg = inject('openRegistry');
    const repo = uniqueRepo('behaviour/manifest');
    const img = await pushImage(reg, repo, 'v1', { kind: 'image' });
    const url = `${reg.url}/v2/${repo}/manifests/v1`;
    for (const accept of [undefined, '*/*', MediaTypes.dockerManifest]) {
      const r = await text(request(url, { headers: accept ? { accept } : {} }));
      expect(r.status).toBe(404);
      expect(r.body).toContain('OCI manifest found, but accept header does not support OCI manifests');
    }
    expect((await text(request(url, { headers: { accept: MediaTypes.ociManifest } }))).status).toBe(200);
    expect((await text(request(`${reg.url}/v2/${repo}/referrers/${img.digest}`))).status).toBe(404);
    expect((await text(request(url, { method: 'DELETE' }))).status).toBe(400); // DIGEST_INVALID
    expect((await text(request(`${reg.url}/v2/${repo}/manifests/${img.digest}`, { method: 'DELETE' }))).status).toBe(202);
    expect(JSON.parse((await text(request(`${reg.url}/v2/${repo}/tags/list`))).body)).toEqual({ name: repo, tags: null });
  });

  test('blobs: Range works, unsatisfiable Range breaks the connection; mount; no single-POST upload', async () => {
    const reg = inject('openRegistry');
    const a = uniqueRepo('behaviour/blob-a');
    const b = uniqueRepo('behaviour/blob-b');
    const img = await pushImage(reg, a, 'v1', { kind: 'image', layerSize: 5000 });
    const layer = img.layers[0]!;
    const ranged = await text(request(`${reg.url}/v2/${a}/blobs/${layer.digest}`, { headers: { range: 'bytes=10-19' } }));
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 10-19/${layer.size}`);
    // 416 is sent with Content-Length of the whole blob: the client sees a broken response.
    await expect(text(request(`${reg.url}/v2/${a}/blobs/${layer.digest}`, { headers: { range: `bytes=${layer.size + 10}-` } }))).rejects.toThrow();

    const mount = await text(request(`${reg.url}/v2/${b}/blobs/uploads/?mount=${layer.digest}&from=${a}`, { method: 'POST' }));
    expect(mount.status).toBe(201);
    expect(mount.headers['docker-content-digest']).toBe(layer.digest);
    const noSource = await text(request(`${reg.url}/v2/${b}/blobs/uploads/?mount=${layer.digest}&from=${uniqueRepo('behaviour/none')}`, { method: 'POST' }));
    expect(noSource.status).toBe(202); // silently starts a normal upload

    const data = Buffer.from('monolithic?');
    const mono = await text(request(`${reg.url}/v2/${b}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data }));
    expect(mono.status).toBe(202); // body ignored: 2.8 has no single-request monolithic upload
    expect(mono.headers.range).toBe('0-0');
  });

  test('chunked uploads: Content-Range is not checked; a stale Location is refused', async () => {
    const reg = inject('openRegistry');
    const repo = uniqueRepo('behaviour/chunks');
    const data = seededBytes('chunks', 3000);
    const start = await text(request(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' }));
    const p1 = await text(request(String(start.headers.location), { method: 'PATCH', body: data.subarray(0, 1000), headers: { 'content-type': 'application/octet-stream', 'content-range': '0-999' } }));
    expect(p1.headers.range).toBe('0-999');
    const gap = await text(request(String(p1.headers.location), { method: 'PATCH', body: data.subarray(1500, 2000), headers: { 'content-type': 'application/octet-stream', 'content-range': '1500-1999' } }));
    expect(gap.status).toBe(202);
    expect(gap.headers.range).toBe('0-1499'); // appended regardless of the declared range
    const stale = await text(request(String(p1.headers.location), { method: 'GET' }));
    expect(stale.status).toBe(404);
    expect(stale.body).toContain('BLOB_UPLOAD_INVALID');
  });

  test('token auth: 60 s leeway after exp; cross-repo mount needs pull on the source in the token', async () => {
    const reg = await stopAfterAll(startTokenRegistry());
    const a = uniqueRepo('behaviour/tok-a');
    const b = uniqueRepo('behaviour/tok-b');
    const img = await pushImage(reg, a, 'v1', { kind: 'image' });
    const tags = (token: string) => text(request(`${reg.url}/v2/${a}/tags/list`, { headers: { authorization: `Bearer ${token}` } }));
    const pullA = [{ type: 'repository', name: a, actions: ['pull'] }];
    expect((await tags(reg.mintToken(pullA, { ttlSeconds: -30 }))).status).toBe(200);
    const late = await tags(reg.mintToken(pullA, { ttlSeconds: -70 }));
    expect(late.status).toBe(401);
    expect(String(late.headers['www-authenticate'])).toContain('error="invalid_token"');

    const mountUrl = `${reg.url}/v2/${b}/blobs/uploads/?mount=${img.layers[0]!.digest}&from=${a}`;
    const onlyB = reg.mintToken([{ type: 'repository', name: b, actions: ['pull', 'push'] }]);
    const denied = await text(request(mountUrl, { method: 'POST', headers: { authorization: `Bearer ${onlyB}` } }));
    expect(denied.status).toBe(401);
    // Both scopes are named, but their order and the order of actions vary (Go map iteration).
    const scope = /scope="([^"]*)"/.exec(String(denied.headers['www-authenticate']))![1]!.split(' ');
    const normalized = scope.map((s) => {
      const [type, name, actions] = s.split(':') as [string, string, string];
      return `${type}:${name}:${actions.split(',').sort().join(',')}`;
    });
    expect(normalized.sort()).toEqual([`repository:${a}:pull`, `repository:${b}:pull,push`].sort());
    const both = reg.mintToken([{ type: 'repository', name: b, actions: ['pull', 'push'] }, ...pullA]);
    expect((await text(request(mountUrl, { method: 'POST', headers: { authorization: `Bearer ${both}` } }))).status).toBe(201);
  });
});
