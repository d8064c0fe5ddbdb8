// Uploads against a real registry behind a fault-injecting proxy: upload Locations on another
// origin (a blob store with a signed query) or relative to it, chunked uploads broken before
// their first byte, a token refused mid-chunk, a registry's minimum chunk size, a 416 on a chunk.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { clientFor as harnessClient, faults, pushScope, startProxy, stopAfterAll, uniqueRepo, type ProxyRequestInfo } from '../harness/index.js';
import { bufferSource } from '../registry/helpers.js';
import { resolveLocation, withQueryParam } from '../../src/content/registry/client.js';
import { basic, engineClient, startForeignOrigin, storedBlob, withAuthorization } from './helpers.js';

const htpasswd = inject('htpasswdRegistry');
const token = inject('tokenRegistry');
const open = inject('openRegistry');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A signed query as a blob store writes it: escapes URLSearchParams would rewrite (`~`, `%2F`, `+`). */
const SIGNED = 'X-Sig=a%2Fb%3Ac+d~e&X-Expires=2099-01-01T00%3A00%3A00Z';

const isPatch = (r: ProxyRequestInfo) => r.kind === 'upload' && r.method === 'PATCH';

/**
 * A target whose POST opens the session on a blob store (another origin) with a signed query;
 * the registry itself knows nothing of the session afterwards. The store answers its PATCHes
 * with a Location relative to itself.
 */
async function blobStoreTarget() {
  const store = await startForeignOrigin(htpasswd);
  store.setHook((r) => {
    if (r.headers.authorization) return faults.status(400, { body: 'Only one auth mechanism allowed' });
    r.headers.authorization = `Basic ${Buffer.from(`${htpasswd.username}:${htpasswd.password}`).toString('base64')}`;
    // Relative to the store: a client resolving it against the registry goes to the wrong origin.
    return faults.headers({ location: (v) => (v ? v.replace(/^https?:\/\/[^/]+/, '') : null) });
  });
  const front = await stopAfterAll(
    startProxy({
      upstream: htpasswd.url,
      hook: async (r) => {
        if (r.kind !== 'upload') return undefined;
        if (r.method !== 'POST') return faults.status(404, { body: JSON.stringify({ errors: [{ code: 'BLOB_UPLOAD_UNKNOWN', message: 'not here' }] }) });
        const res = await harnessClient(htpasswd).request('POST', r.path, { scopes: [pushScope(r.repo!)] });
        await res.body.dump();
        const upstream = new URL(String(res.headers.location));
        return faults.status(202, { headers: { location: `${store.url}${upstream.pathname}${upstream.search}&${SIGNED}`, 'content-type': 'text/plain' }, body: '' });
      },
    }),
  );
  return { front, store };
}

describe('upload Locations', () => {
  it('resolves a Location against the URL that answered, outside /v2/ too, keeping its query as written', () => {
    const signed = `/artifacts-uploads/namespaces/p/repositories/r/uploads/abc?${SIGNED}`;
    expect(resolveLocation(signed, 'https://store.example:8443/v2/r/blobs/uploads/x?y=1')).toBe(`https://store.example:8443${signed}`);
    expect(resolveLocation(`https://blob.example/u/1?${SIGNED}`, 'https://reg.example/v2/')).toBe(`https://blob.example/u/1?${SIGNED}`);
    expect(withQueryParam(`https://blob.example/u/1?${SIGNED}`, 'digest', 'sha256:ab')).toBe(`https://blob.example/u/1?${SIGNED}&digest=sha256%3Aab`);
    expect(withQueryParam('https://reg.example/v2/r/blobs/uploads/1', 'digest', 'sha256:ab')).toBe('https://reg.example/v2/r/blobs/uploads/1?digest=sha256%3Aab');
    expect(withQueryParam('https://reg.example/u?', 'digest', 'sha256:ab')).toBe('https://reg.example/u?digest=sha256%3Aab');
  });

  for (const [name, size, monolithicMax] of [
    ['one PUT', 64 * 1024, 1024 * 1024],
    ['a streamed PATCH and a PUT', 512 * 1024, 1024],
  ] as const) {
    it(`sends ${name} to a blob store's signed Location without credentials, its query byte for byte`, async () => {
      const repo = uniqueRepo('store');
      const { front, store } = await blobStoreTarget();
      const { client } = engineClient(front.url, basic(htpasswd));
      const bytes = randomBytes(size);
      await client.uploadBlob(repo, { digest: sha(bytes), size }, bufferSource(bytes), { monolithicMax });
      expect((await storedBlob(htpasswd, repo, sha(bytes)))?.equals(bytes)).toBe(true);
      expect(withAuthorization(store)).toEqual([]);
      // The first request to the store carries the signed query exactly as written, digest appended as text.
      const first = store.requests[0]!;
      expect(first.path).toContain(`&${SIGNED}`);
      if (monolithicMax > size) expect(first.path).toMatch(new RegExp(`&${SIGNED.replace(/[+]/g, '\\+')}&digest=sha256%3A[0-9a-f]{64}$`));
      // The store's relative Location was resolved against the store, not the registry.
      expect(front.requests.filter((q) => q.kind === 'upload').map((q) => q.method)).toEqual(['POST']);
    });
  }
});

describe('chunked uploads', () => {
  const size = 5 * 64 * 1024 + 123;
  const chunked = { monolithicMax: 0, chunkedAbove: 0, chunkSize: 64 * 1024 };

  it('resumes at the right offset after a reset before the first byte of the first chunk (Range 0-0) and of a later chunk', async () => {
    const repo = uniqueRepo('chunk-reset');
    let patches = 0;
    const front = await stopAfterAll(startProxy({ upstream: open.url, hook: (r) => (isPatch(r) && [1, 4].includes(++patches) ? faults.reset() : undefined) }));
    const { client } = engineClient(front.url);
    const bytes = randomBytes(size);
    await client.uploadBlob(repo, { digest: sha(bytes), size }, bufferSource(bytes), chunked);
    expect((await storedBlob(open, repo, sha(bytes)))?.equals(bytes)).toBe(true);
    const ranges = front.requests.filter((q) => q.kind === 'upload' && q.method === 'PATCH' && q.status === 202).map((q) => q.requestHeaders['content-range']);
    expect(ranges).toEqual(['0-65535', '65536-131071', '131072-196607', '196608-262143', '262144-327679', `327680-${size - 1}`]);
  });

  it('resumes from the session status when a token is refused mid-chunk (401 on a PATCH), never resending a spent stream', async () => {
    const repo = uniqueRepo('chunk-401');
    const challenge = `Bearer realm="${token.realm}",service="${token.service}",scope="repository:${repo}:pull,push"`;
    let patches = 0;
    const front = await stopAfterAll(
      startProxy({
        upstream: token.url,
        hook: (r) => (isPatch(r) && ++patches === 2 ? faults.status(401, { headers: { 'www-authenticate': challenge }, body: JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'token revoked' }] }) }) : undefined),
      }),
    );
    const { client } = engineClient(front.url, basic(token), { timeoutMs: 5_000 });
    const bytes = randomBytes(size);
    await client.uploadBlob(repo, { digest: sha(bytes), size }, bufferSource(bytes), chunked);
    expect((await storedBlob(token, repo, sha(bytes)))?.equals(bytes)).toBe(true);
    const patchesSent = front.requests.filter(isPatch);
    expect(patchesSent.map((q) => q.status)).toEqual([202, 401, 202, 202, 202, 202, 202]);
    // After the 401: the session's status, then the refused chunk again from its start.
    expect(patchesSent[2]!.requestHeaders['content-range']).toBe('65536-131071');
  });

  it("honours the OCI-Chunk-Min-Length of a refused mount's session (ECR: small chunks get 416)", async () => {
    const repo = uniqueRepo('chunk-min');
    const min = 160 * 1024;
    const bytes = randomBytes(size);
    const front = await stopAfterAll(
      startProxy({
        upstream: open.url,
        hook: (r) => {
          if (r.kind === 'upload' && r.method === 'POST') return faults.headers({ 'oci-chunk-min-length': String(min) });
          const [from, to] = String(r.headers['content-range'] ?? '').split('-').map(Number);
          if (isPatch(r) && to! + 1 < size && to! - from! + 1 < min) return faults.status(416, { body: JSON.stringify({ errors: [{ code: 'BLOB_UPLOAD_INVALID', message: 'LayerPartTooSmallException' }] }) });
          return undefined;
        },
      }),
    );
    const { client } = engineClient(front.url);
    const r = await client.mountBlob(repo, sha(bytes), uniqueRepo('nowhere'));
    expect(r.mounted).toBe(false);
    if (r.mounted) return;
    expect(r.minChunk).toBe(min);
    await client.uploadBlob(repo, { digest: sha(bytes), size }, bufferSource(bytes), { ...chunked, location: r.location, minChunk: r.minChunk });
    expect((await storedBlob(open, repo, sha(bytes)))?.equals(bytes)).toBe(true);
    // Chunks of the minimum (the last one shorter), none refused.
    expect(front.requests.filter(isPatch).map((q) => `${q.status} ${q.requestHeaders['content-length']}`)).toEqual([`202 ${min}`, `202 ${min}`, `202 ${size - 2 * min}`]);
  });

  it('resumes from the session status after a 416 on a chunk', async () => {
    const repo = uniqueRepo('chunk-416');
    let patches = 0;
    const front = await stopAfterAll(
      startProxy({ upstream: open.url, hook: (r) => (isPatch(r) && ++patches === 3 ? faults.status(416, { body: JSON.stringify({ errors: [{ code: 'BLOB_UPLOAD_INVALID', message: 'out of order' }] }) }) : undefined) }),
    );
    const { client } = engineClient(front.url);
    const bytes = randomBytes(size);
    await client.uploadBlob(repo, { digest: sha(bytes), size }, bufferSource(bytes), chunked);
    expect((await storedBlob(open, repo, sha(bytes)))?.equals(bytes)).toBe(true);
    const statusQueries = front.requests.filter((q) => q.kind === 'upload' && q.method === 'GET');
    expect(statusQueries).toHaveLength(1);
  });

  it('starts a new session when the registry refuses to resume one (ACR: a retried chunk is BLOB_UPLOAD_INVALID)', async () => {
    const repo = uniqueRepo('chunk-noresume');
    const session = (path: string) => path.split('?')[0]!;
    const broken = new Set<string>();
    let patches = 0;
    const front = await stopAfterAll(
      startProxy({
        upstream: open.url,
        hook: (r) => {
          if (!isPatch(r)) return undefined;
          if (broken.has(session(r.path))) return faults.status(400, { body: JSON.stringify({ errors: [{ code: 'BLOB_UPLOAD_INVALID', message: 'retried chunk' }] }) });
          if (++patches === 3) {
            broken.add(session(r.path));
            return faults.reset();
          }
          return undefined;
        },
      }),
    );
    const { client } = engineClient(front.url);
    const bytes = randomBytes(size);
    await client.uploadBlob(repo, { digest: sha(bytes), size }, bufferSource(bytes), chunked);
    expect((await storedBlob(open, repo, sha(bytes)))?.equals(bytes)).toBe(true);
    expect(front.requests.filter((q) => q.kind === 'upload' && q.method === 'POST')).toHaveLength(2);
    expect(front.requests.filter((q) => q.kind === 'upload' && q.method === 'DELETE')).toHaveLength(1);
  });
});
