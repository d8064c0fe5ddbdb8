// The personalities themselves, asked with plain HTTP and no code of the tool: each behaves the way
// its profile says the registry does, so an import that passes against it has met the behaviour.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { MediaTypes, basicAuthHeader, parseChallenge, pushImage, startRefusingProxy, uniqueRepo, type Personality, type PushResult } from '../harness/index.js';
import { open, startPersonalities } from './matrix.js';

let ps: Record<string, Personality> = {};
let repo = '';
let image: PushResult;
beforeAll(async () => {
  ps = await startPersonalities(['registry.k8s.io', 'docker-hub', 'anonymous-token', 'ecr', 'blob-store', 'acr', 'minimal', 'rewriting-target']);
  repo = uniqueRepo('personality');
  image = await pushImage(open, repo, 'v1', { kind: 'image', layers: 1 });
  return () => Promise.all(Object.values(ps).map((p) => p.stop())).then(() => undefined);
});

const ACCEPT = [MediaTypes.ociManifest, MediaTypes.ociIndex].join(', ');

/** One request, its body read; `auth` is the personality's Basic credentials when it has them. */
async function send(p: Personality, method: string, path: string, o: { headers?: Record<string, string>; body?: Buffer; auth?: string } = {}) {
  const url = path.startsWith('http') ? path : `${p.url}${path}`;
  const authorization = o.auth ?? (p.credentials && p.door.kind === 'basic' && url.startsWith(p.url) ? basicAuthHeader(p.credentials.username, p.credentials.password) : undefined);
  const res = await request(url, { method: method as 'GET', headers: { ...o.headers, ...(authorization ? { authorization } : {}) }, body: o.body });
  const text = await res.body.text();
  const h = (n: string) => {
    const v = res.headers[n];
    return Array.isArray(v) ? v[0] : v;
  };
  return { status: res.statusCode, h, text };
}

/** A bearer token from the personality's realm, for the challenge a request got. */
async function bearer(p: Personality, challenge: string | undefined, scope: string, withCredentials: boolean): Promise<string> {
  const c = parseChallenge(challenge)!;
  const url = `${c.params.realm}?service=${encodeURIComponent(c.params.service!)}&scope=${encodeURIComponent(scope)}`;
  const res = await request(url, { headers: withCredentials ? { authorization: basicAuthHeader(p.credentials!.username, p.credentials!.password) } : {} });
  return `Bearer ${((await res.body.json()) as { token: string }).token}`;
}

describe('registry personalities', () => {
  it('registry.k8s.io: /v2/ open, reads 307 to a regional origin (HEAD too), writes 405', async () => {
    const k8s = ps['registry.k8s.io']!;
    expect((await send(k8s, 'GET', '/v2/')).status).toBe(200);
    for (const method of ['GET', 'HEAD']) {
      const r = await send(k8s, method, `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT } });
      expect(r.status).toBe(307);
      expect(r.h('location')).toBe(`${k8s.sideUrl}/v2/k8s-artifacts-prod/images/${repo}/manifests/v1`);
      expect((await send(k8s, method, r.h('location')!, { headers: { accept: ACCEPT } })).status).toBe(200);
    }
    const post = await send(k8s, 'POST', `/v2/${repo}/blobs/uploads/`);
    expect(post.status).toBe(405);
    expect(post.text).toContain('UNSUPPORTED');
  });

  it('docker-hub: realm on another host; manifest GET metered, HEAD not; blob GET 307 to a CDN that refuses Authorization', async () => {
    const hub = ps['docker-hub']!;
    const first = await send(hub, 'GET', `/v2/${repo}/manifests/v1`);
    expect(first.status).toBe(401);
    const realm = new URL(parseChallenge(first.h('www-authenticate'))!.params.realm!);
    expect(realm.origin).not.toBe(hub.url);
    const auth = await bearer(hub, first.h('www-authenticate'), `repository:${repo}:pull`, true);
    const head = await send(hub, 'HEAD', `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT }, auth });
    expect(head.h('ratelimit-remaining')).toBeUndefined();
    const get = await send(hub, 'GET', `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT }, auth });
    expect(get.h('ratelimit-limit')).toBe('100;w=21600');
    const again = await send(hub, 'GET', `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT }, auth });
    expect(Number.parseInt(again.h('ratelimit-remaining')!)).toBe(Number.parseInt(get.h('ratelimit-remaining')!) - 1);
    const blob = await send(hub, 'GET', `/v2/${repo}/blobs/${image.layers[0]!.digest}`, { auth });
    expect(blob.status).toBe(307);
    const cdn = blob.h('location')!;
    expect(cdn.startsWith(hub.sideUrl)).toBe(true);
    expect((await send(hub, 'GET', cdn, { auth })).status).toBe(400);
    expect((await send(hub, 'HEAD', cdn)).status).toBe(403);
    expect((await send(hub, 'GET', cdn.replace(/X-Amz-Signature=[^&]+/, 'X-Amz-Signature=forged'))).status).toBe(403);
    const bytes = await request(cdn);
    expect(createHash('sha256').update(Buffer.from(await bytes.body.arrayBuffer())).digest('hex')).toBe(image.layers[0]!.digest.slice(7));
  });

  it('anonymous-token: anonymous reads are challenged with a placeholder scope, and an anonymous token for the repository opens them', async () => {
    const ghcr = ps['anonymous-token']!;
    const first = await send(ghcr, 'GET', `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT } });
    expect(first.status).toBe(401);
    expect(parseChallenge(first.h('www-authenticate'))!.params.scope).toBe('repository:user/image:pull');
    const placeholder = await bearer(ghcr, first.h('www-authenticate'), 'repository:user/image:pull', false);
    expect((await send(ghcr, 'GET', `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT }, auth: placeholder })).status).toBe(401);
    const token = await bearer(ghcr, first.h('www-authenticate'), `repository:${repo}:pull`, false);
    expect((await send(ghcr, 'GET', `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT }, auth: token })).status).toBe(200);
    expect((await send(ghcr, 'POST', `/v2/${repo}/blobs/uploads/`, { auth: token })).status).toBe(401);
  });

  it('ecr: chunk minimum, 416 after a small chunk and out of order, PATCH 201 with Range stuck, no digest on manifest GET, mounts refused', async () => {
    const ecr = ps.ecr!;
    const dst = uniqueRepo('ecr-probe');
    const get = await send(ecr, 'GET', `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT } });
    expect(get.status).toBe(200);
    expect(get.h('docker-content-digest')).toBeUndefined();
    expect((await send(ecr, 'HEAD', `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT } })).h('docker-content-digest')).toBe(image.digest);
    const mount = await send(ecr, 'POST', `/v2/${dst}/blobs/uploads/?mount=${image.layers[0]!.digest}&from=${repo}`);
    expect(mount.status).toBe(202);
    const post = await send(ecr, 'POST', `/v2/${dst}/blobs/uploads/`);
    expect(post.h('oci-chunk-min-length')).toBe(String(5 * 1024 * 1024));
    const chunk = Buffer.alloc(1024, 1);
    const one = await send(ecr, 'PATCH', post.h('location')!, { body: chunk, headers: { 'content-range': '0-1023', 'content-length': '1024' } });
    expect(one.status).toBe(201);
    expect(one.h('range')).toBe('0-1023');
    const outOfOrder = await send(ecr, 'PATCH', one.h('location')!, { body: chunk, headers: { 'content-range': '0-1023', 'content-length': '1024' } });
    expect(outOfOrder.status).toBe(416);
    const session2 = await send(ecr, 'POST', `/v2/${dst}/blobs/uploads/`);
    const big = Buffer.alloc(5 * 1024 * 1024, 2);
    const a = await send(ecr, 'PATCH', session2.h('location')!, { body: big, headers: { 'content-range': `0-${big.length - 1}`, 'content-length': String(big.length) } });
    const b = await send(ecr, 'PATCH', a.h('location')!, { body: chunk, headers: { 'content-range': `${big.length}-${big.length + 1023}`, 'content-length': '1024' } });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.h('range')).toBe(`0-${big.length - 1}`);
    // A small chunk that is not the last one is refused.
    const c = await send(ecr, 'PATCH', b.h('location')!, { body: chunk, headers: { 'content-range': `${big.length + 1024}-${big.length + 2047}`, 'content-length': '1024' } });
    expect(c.status).toBe(416);
  });

  it('blob-store: upload Location on the store with a signed query; the store refuses Authorization and a changed signature', async () => {
    const store = ps['blob-store']!;
    const dst = uniqueRepo('store-probe');
    const post = await send(store, 'POST', `/v2/${dst}/blobs/uploads/`);
    const loc = post.h('location')!;
    expect(loc.startsWith(`${store.sideUrl}/upload/`)).toBe(true);
    expect(loc).toMatch(/X-Amz-Signature=[a-f0-9]{32}/);
    const bytes = Buffer.from('stored blob');
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const withAuth = await send(store, 'PUT', `${loc}&digest=${digest}`, { body: bytes, auth: basicAuthHeader(store.credentials!.username, store.credentials!.password) });
    expect(withAuth.status).toBe(400);
    expect((await send(store, 'PUT', `${loc.replace(/X-Amz-Signature=[^&]+/, 'X-Amz-Signature=0')}&digest=${digest}`, { body: bytes })).status).toBe(403);
    expect((await send(store, 'PUT', `${loc}&digest=${digest}`, { body: bytes })).status).toBe(201);
    expect((await send(store, 'HEAD', `/v2/${dst}/blobs/${digest}`)).status).toBe(200);
  });

  it('acr: relative upload Location with _nouploadcache and _state; the first closing PUT of a blob answers BLOB_UPLOAD_UNKNOWN', async () => {
    const acr = ps.acr!;
    const dst = uniqueRepo('acr-probe');
    const bytes = Buffer.from('acr blob');
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const put = async () => {
      const loc = (await send(acr, 'POST', `/v2/${dst}/blobs/uploads/`)).h('location')!;
      expect(loc).toMatch(new RegExp(`^/v2/${dst}/blobs/uploads/[^?]+\\?_nouploadcache=false&_state=`));
      return send(acr, 'PUT', `${loc}&digest=${digest}`, { body: bytes });
    };
    const lost = await put();
    expect(lost.status).toBe(404);
    expect(lost.text).toContain('BLOB_UPLOAD_UNKNOWN');
    expect((await put()).status).toBe(201);
  });

  it('minimal: manifest HEAD 405, GET as application/json without Docker-Content-Digest', async () => {
    const minimal = ps.minimal!;
    expect((await send(minimal, 'HEAD', `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT } })).status).toBe(405);
    const get = await send(minimal, 'GET', `/v2/${repo}/manifests/v1`, { headers: { accept: ACCEPT } });
    expect(get.h('content-type')).toBe('application/json');
    expect(get.h('docker-content-digest')).toBeUndefined();
  });

  it('rewriting-target: a manifest PUT answers the digest of other bytes', async () => {
    const rewriting = ps['rewriting-target']!;
    const put = await send(rewriting, 'PUT', `/v2/${repo}/manifests/rewritten`, { body: image.bytes, headers: { 'content-type': image.mediaType } });
    expect(put.status).toBe(201);
    expect(put.h('docker-content-digest')).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(put.h('docker-content-digest')).not.toBe(image.digest);
  });

  it('a refusing forward proxy answers CONNECT with 407 and a Proxy-Authenticate challenge', async () => {
    const proxy = await startRefusingProxy(407);
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const s = connect(Number(new URL(proxy.url).port), '127.0.0.1', () => s.write('CONNECT registry.test:443 HTTP/1.1\r\nHost: registry.test:443\r\n\r\n'));
        let got = '';
        s.on('data', (d) => (got += d.toString()));
        s.on('end', () => resolve(got));
        s.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 407 .*\r\nProxy-Authenticate: Basic/);
      expect(proxy.connects).toEqual([{ target: 'registry.test:443', proxyAuthorization: undefined, status: 407 }]);
    } finally {
      await proxy.stop();
    }
  });
});
