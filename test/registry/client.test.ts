// The registry client against real Distribution registries: every auth mode, mounts, uploads in
// each mode (and resumed), downloads resumed with Range, digests checked, errors typed.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  faults,
  failFirst,
  pushImage,
  putBlob,
  startAcrOrigin,
  startBlobCdn,
  startProxy,
  startTokenRegistry,
  stopAfterAll,
  uniqueRepo,
  ACR_NULL_GUID,
} from '../harness/index.js';
import { AcrImportError } from '../../src/errors.js';
import { RegistryError } from '../../src/content/registry/errors.js';
import { postToken } from '../../src/auth/token-service.js';
import type { RefreshTokenSource } from '../../src/auth/authenticator.js';
import { bufferSource, clientFor, readAll } from './helpers.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');
const token = inject('tokenRegistry');
const acr = inject('acrOrigin');
const tls = inject('tlsRegistry');

const transports: { close(): Promise<void> }[] = [];
function client(...args: Parameters<typeof clientFor>) {
  const c = clientFor(...args);
  transports.push(c.transport);
  return c;
}
afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
});

describe('manifests', () => {
  it('gets the exact bytes by tag and digest, heads them, and puts them back byte-identical', async () => {
    const repo = uniqueRepo('manifest');
    const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2 });
    const { client: c } = client(open.url);
    const byTag = await c.getManifest(repo, 'v1');
    expect(byTag.digest).toBe(image.digest);
    expect(byTag.bytes.equals(image.bytes)).toBe(true);
    expect(byTag.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    const head = await c.headManifest(repo, 'v1');
    expect(head).toMatchObject({ digest: image.digest, size: image.bytes.length });
    expect(await c.headManifest(repo, 'nope')).toBeUndefined();
    await c.putManifest(repo, 'v2', byTag.bytes, byTag.mediaType);
    expect((await c.getManifest(repo, 'v2')).digest).toBe(image.digest);
  });

  it('rejects manifest bytes that do not match the requested digest', async () => {
    const repo = uniqueRepo('mismatch');
    const image = await pushImage(open, repo, 'v1', { kind: 'image' });
    const proxy = await stopAfterAll(startProxy({ upstream: open.url }));
    proxy.setHook((r) =>
      r.kind === 'manifest' && r.method === 'GET'
        ? { kind: 'respond', status: 200, headers: { 'content-type': image.mediaType }, body: Buffer.concat([image.bytes, Buffer.from(' ')]) }
        : undefined,
    );
    const { client: c } = client(proxy.url);
    const err = await c.getManifest(repo, image.digest).catch((e) => e);
    expect(err).toBeInstanceOf(AcrImportError);
    expect(err.kind).toBe('integrity');
    expect(err.message).toMatch(/does not match its digest/);
  });

  it('types 404 errors with the registry code and message', async () => {
    const { client: c } = client(open.url);
    const err = await c.getManifest(uniqueRepo('missing'), 'latest').catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ kind: 'not-found', status: 404 });
    expect(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']).toContain(err.code);
    expect(err.message).toContain('HTTP 404');
  });

  it('lists tags across Link pages', async () => {
    const repo = uniqueRepo('tags');
    const image = await pushImage(open, repo, 't0', { kind: 'image' });
    const { client: c } = client(open.url);
    for (let i = 1; i < 7; i++) await c.putManifest(repo, `t${i}`, image.bytes, image.mediaType);
    const tags = await c.listTags(repo, { pageSize: 2 });
    expect(tags.sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6']);
  });
});

describe('authentication', () => {
  it('uses Basic credentials on an htpasswd registry and types 401 without them', async () => {
    const repo = uniqueRepo('basic');
    await pushImage(htpasswd, repo, 'v1', { kind: 'image' });
    const { client: ok } = client(htpasswd.url, { kind: 'basic', username: htpasswd.username, password: htpasswd.password });
    expect(await ok.headManifest(repo, 'v1')).toBeDefined();
    const { client: anon } = client(htpasswd.url);
    const err = await anon.headManifest(repo, 'v1').catch((e) => e);
    expect(err).toMatchObject({ kind: 'auth', status: 401 });
    const { client: wrong } = client(htpasswd.url, { kind: 'basic', username: htpasswd.username, password: 'wrong' });
    await expect(wrong.headManifest(repo, 'v1')).rejects.toMatchObject({ kind: 'auth' });
  });

  it('gets tokens from a Docker token service: anonymous pull, push refused as a typed error', async () => {
    const repo = uniqueRepo('token');
    const image = await pushImage(token, repo, 'v1', { kind: 'image' });
    const { client: anon } = client(token.url);
    expect((await anon.getManifest(repo, 'v1')).digest).toBe(image.digest);
    const err = await anon.putManifest(repo, 'v2', image.bytes, image.mediaType).catch((e) => e);
    expect(err).toBeInstanceOf(AcrImportError);
    expect(err.kind).toBe('auth');
    expect([401, 403]).toContain(err.status);
  });

  it('asks for one token per scope set and renews it before it expires', async () => {
    const reg = await stopAfterAll(startTokenRegistry({ tokenService: { expiresIn: 2 } }));
    const repo = uniqueRepo('renew');
    await pushImage(reg, repo, 'v1', { kind: 'image' });
    const { client: c } = client(reg.url, { kind: 'basic', ...reg.credentials! });
    reg.tokenService.clear();
    for (let i = 0; i < 5; i++) await c.headManifest(repo, 'v1');
    expect(reg.tokenService.requests.length).toBe(1);
    // 2 s tokens are renewed in their last quarter: after 1.6 s the next call fetches a new one.
    await new Promise((r) => setTimeout(r, 1600));
    await c.headManifest(repo, 'v1');
    expect(reg.tokenService.requests.length).toBe(2);
    expect(reg.tokenService.requests.every((r) => r.credential === 'basic')).toBe(true);
  });

  it('re-authenticates once when a token is refused mid-job', async () => {
    const repo = uniqueRepo('reauth');
    await pushImage(token, repo, 'v1', { kind: 'image' });
    const proxy = await stopAfterAll(startProxy({ upstream: token.url }));
    const { client: c } = client(proxy.url, { kind: 'basic', username: token.username, password: token.password });
    await c.headManifest(repo, 'v1');
    // The next manifest request gets a 401 as if the token had been revoked.
    proxy.setHook(
      failFirst(1, (r) => r.kind === 'manifest', {
        kind: 'respond',
        status: 401,
        headers: { 'www-authenticate': `Bearer realm="${token.realm}",service="${token.service}",scope="repository:${repo}:pull"`, 'content-type': 'application/json' },
        body: JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'token expired' }] }),
      }),
    );
    expect(await c.headManifest(repo, 'v1')).toBeDefined();
    const manifestRequests = proxy.requests.filter((r) => r.kind === 'manifest');
    // The first 401 tells the challenge; the second is the refused token, answered by a new one.
    expect(manifestRequests.map((r) => r.status)).toEqual([401, 200, 401, 200]);
  });

  it('POSTs grant_type=refresh_token for the null-GUID user (az acr login --expose-token)', async () => {
    const repo = uniqueRepo('refresh');
    const origin = await stopAfterAll(startAcrOrigin({ refreshTokens: ['rt-secret'] }));
    await pushImage({ url: origin.url, username: 'testuser', password: 'testpass' }, repo, 'v1', { kind: 'image' });
    const { client: c } = client(origin.url, { kind: 'refresh-token', token: 'rt-secret' });
    origin.clear();
    expect(await c.headManifest(repo, 'v1')).toBeDefined();
    expect(origin.requests.map((r) => `${r.endpoint} ${r.grantType} ${r.credential} ${r.status}`)).toEqual(['token refresh_token refresh_token 200']);
  });

  it('signs in with Basic credentials (admin user) at an ACR-style /oauth2/token', async () => {
    const repo = uniqueRepo('acr-basic');
    await pushImage({ url: acr.url, username: acr.username, password: acr.password }, repo, 'v1', { kind: 'image' });
    const { client: c } = client(acr.url, { kind: 'basic', username: acr.username, password: acr.password });
    expect(await c.headManifest(repo, 'v1')).toBeDefined();
  });

  it('POSTs grant_type=password with space-delimited scopes', async () => {
    const { transport } = client(acr.url);
    const origin = await stopAfterAll(startAcrOrigin());
    const scopes = ['repository:a:pull,push', 'repository:b:pull'];
    const issued = await postToken(transport, { realm: origin.realm, service: origin.service }, scopes, origin.host, { grant_type: 'password', username: 'testuser', password: 'testpass' });
    expect(issued.token.split('.')).toHaveLength(3);
    // ACR gives no expires_in: the expiry comes from the JWT.
    expect(issued.expiresAt).toBeGreaterThan(Date.now() + 60_000);
    expect(origin.requests.map((r) => [r.grantType, r.scopes])).toEqual([['password', scopes]]);
    const wrong = await postToken(transport, { realm: origin.realm, service: origin.service }, scopes, origin.host, { grant_type: 'password', username: 'testuser', password: 'nope' }).catch((e) => e);
    expect(wrong).toMatchObject({ kind: 'auth' });
    expect(ACR_NULL_GUID).toBe('00000000-0000-0000-0000-000000000000');
  });

  it('talks to a TLS registry with its CA, and fails with a typed network error without it', async () => {
    const repo = uniqueRepo('tls');
    await pushImage(tls, repo, 'v1', { kind: 'image' });
    const { client: trusted } = client(tls.url, { kind: 'anonymous' }, { ca: tls.ca });
    expect(await trusted.headManifest(repo, 'v1')).toBeDefined();
    const { client: untrusted } = client(tls.url);
    const err = await untrusted.headManifest(repo, 'v1').catch((e) => e);
    expect(err).toBeInstanceOf(AcrImportError);
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/TLS failure/);
    expect(err.hint).toMatch(/NODE_EXTRA_CA_CERTS/);
  });
});

describe('blobs', () => {
  it('streams a blob through a redirect to another origin without sending Authorization there', async () => {
    const repo = uniqueRepo('redirect');
    const bytes = randomBytes(300_000);
    const { digest } = await putBlob(token, repo, bytes);
    const cdn = await stopAfterAll(startBlobCdn({ registry: { url: token.url, username: token.username, password: token.password }, rejectAuthorization: true }));
    const proxy = await stopAfterAll(startProxy({ upstream: token.url, hook: cdn.redirectBlobGets() }));
    const { client: c } = client(proxy.url, { kind: 'basic', username: token.username, password: token.password });
    expect(await c.hasBlob(repo, digest)).toBe(true); // signed in: the GET below carries a token
    const got = await readAll(c.getBlob(repo, { digest, size: bytes.length }));
    expect(got.equals(bytes)).toBe(true);
    expect(cdn.requests.length).toBeGreaterThan(0);
    expect(cdn.requests.every((r) => !r.hadAuthorization)).toBe(true);
    // The registry itself did get the token.
    expect(proxy.requests.some((r) => r.kind === 'blob' && r.requestHeaders.authorization?.startsWith('Bearer '))).toBe(true);
  });

  it('resumes a download cut off midway with a Range request', async () => {
    const repo = uniqueRepo('range');
    const bytes = randomBytes(3 * 1024 * 1024);
    const { digest } = await putBlob(open, repo, bytes);
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: failFirst(1, (r) => r.kind === 'blob' && r.method === 'GET', faults.cut(1024 * 1024)) }));
    const { client: c } = client(proxy.url);
    const got = await readAll(c.getBlob(repo, { digest, size: bytes.length }));
    expect(got.equals(bytes)).toBe(true);
    const gets = proxy.requests.filter((r) => r.kind === 'blob' && r.method === 'GET');
    expect(gets).toHaveLength(2);
    expect(gets[1]!.requestHeaders.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/bytes=(\d+)-/.exec(gets[1]!.requestHeaders.range!)![1])).toBeGreaterThan(0);
  });

  it('rejects a blob whose bytes do not match its digest', async () => {
    const repo = uniqueRepo('badblob');
    const bytes = randomBytes(100_000);
    const { digest } = await putBlob(open, repo, bytes);
    const wrong = Buffer.from(bytes);
    wrong[500] ^= 0xff;
    const proxy = await stopAfterAll(startProxy({ upstream: open.url }));
    proxy.setHook((r) => (r.kind === 'blob' && r.method === 'GET' ? { kind: 'respond', status: 200, headers: { 'content-type': 'application/octet-stream' }, body: wrong } : undefined));
    const { client: c } = client(proxy.url);
    const err = await readAll(c.getBlob(repo, { digest, size: bytes.length })).catch((e) => e);
    expect(err).toBeInstanceOf(AcrImportError);
    expect(err.kind).toBe('integrity');
    expect(err.message).toMatch(/hash to sha256:/);
  });

  it('mounts across repositories (201) and uses the session a refused mount opens (202)', async () => {
    const from = uniqueRepo('mount-from');
    const to = uniqueRepo('mount-to');
    const bytes = randomBytes(50_000);
    const { digest } = await putBlob(open, from, bytes);
    const { client: c } = client(open.url);
    expect(await c.mountBlob(to, digest, from)).toEqual({ mounted: true });
    expect(await c.hasBlob(to, digest)).toBe(true);

    const other = randomBytes(40_000);
    const otherDigest = digestOf(other);
    const refused = await c.mountBlob(to, otherDigest, uniqueRepo('nowhere'));
    expect(refused.mounted).toBe(false);
    if (refused.mounted) return;
    await c.uploadBlob(to, { digest: otherDigest, size: other.length }, bufferSource(other), { location: refused.location });
    expect(await c.hasBlob(to, otherDigest)).toBe(true);
  });

  it('uploads monolithically, as one streamed PATCH, and in chunks', async () => {
    const repo = uniqueRepo('upload');
    const proxy = await stopAfterAll(startProxy({ upstream: open.url }));
    const { client: c } = client(proxy.url);
    const sizes = { small: 10_000, streamed: 2 * 1024 * 1024, chunked: 5 * 1024 * 1024 + 123 };
    for (const [mode, size] of Object.entries(sizes)) {
      const bytes = randomBytes(size);
      const digest = digestOf(bytes);
      proxy.clear();
      await c.uploadBlob(repo, { digest, size }, bufferSource(bytes), { monolithicMax: 64 * 1024, chunkedAbove: 4 * 1024 * 1024, chunkSize: 1024 * 1024 });
      const patches = proxy.requests.filter((r) => r.method === 'PATCH');
      if (mode === 'small') expect(patches).toHaveLength(0);
      if (mode === 'streamed') expect(patches).toHaveLength(1);
      if (mode === 'chunked') {
        expect(patches).toHaveLength(6);
        expect(patches[1]!.requestHeaders['content-range']).toBe('1048576-2097151');
      }
      expect(await c.hasBlob(repo, digest)).toBe(true);
      const back = await readAll(c.getBlob(repo, { digest, size }));
      expect(back.equals(bytes)).toBe(true);
    }
  });

  it('resumes a chunked upload from the offset the registry reports after a dropped connection', async () => {
    const repo = uniqueRepo('resume');
    const bytes = randomBytes(6 * 1024 * 1024);
    const digest = digestOf(bytes);
    let patches = 0;
    const proxy = await stopAfterAll(startProxy({ upstream: open.url }));
    // The third PATCH dies with a reset: two chunks are in, the rest must follow without starting over.
    proxy.setHook((r) => (r.method === 'PATCH' && ++patches === 3 ? faults.reset() : undefined));
    const { client: c } = client(proxy.url);
    await c.uploadBlob(repo, { digest, size: bytes.length }, bufferSource(bytes), { chunkedAbove: 1024 * 1024, chunkSize: 1024 * 1024 });
    expect(await c.hasBlob(repo, digest)).toBe(true);
    const statusChecks = proxy.requests.filter((r) => r.method === 'GET' && r.kind === 'upload');
    expect(statusChecks.length).toBe(1);
    const posts = proxy.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(1); // the same session, not a new upload
    const patched = proxy.requests.filter((r) => r.method === 'PATCH' && r.status === 202);
    expect(patched).toHaveLength(6);
    expect(patched[2]!.requestHeaders['content-range']).toBe('2097152-3145727');
  });
});

describe('refresh-token sources (the Entra ID seam)', () => {
  it('exchanges again, once, when the token service refuses a cached refresh token', async () => {
    const origin = await stopAfterAll(startAcrOrigin({ acceptedAccessTokens: ['entra-token'], accessTokenTtl: 1, strictExpiry: true }));
    const repo = uniqueRepo('exchange');
    await pushImage({ url: origin.url, username: 'testuser', password: 'testpass' }, repo, 'v1', { kind: 'image' });
    let cached: string | undefined;
    const asked: boolean[] = [];
    const source: RefreshTokenSource = {
      description: 'test exchange',
      async refreshToken({ forceNew, challenge }) {
        asked.push(forceNew);
        if (cached && !forceNew) return cached;
        const form = new URLSearchParams({ grant_type: 'access_token', service: challenge.service!, access_token: 'entra-token' });
        const res = await fetch(`${origin.url}/oauth2/exchange`, { method: 'POST', body: form });
        cached = ((await res.json()) as { refresh_token: string }).refresh_token;
        return cached;
      },
    };
    const { client: c } = client(origin.url, { kind: 'exchange', source });
    expect(await c.headManifest(repo, 'v1')).toBeDefined();
    origin.revokeRefreshTokens();
    await new Promise((r) => setTimeout(r, 1100)); // the 1 s access token is gone
    expect(await c.headManifest(repo, 'v1')).toBeDefined();
    expect(asked).toEqual([false, false, true]);
    expect(origin.requests.filter((r) => r.endpoint === 'exchange')).toHaveLength(2);
  });
});
