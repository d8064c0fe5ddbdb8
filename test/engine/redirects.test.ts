// Redirects against a real registry: manifests and blobs sent to another origin (registry.k8s.io
// answers every manifest request with a 307 to Artifact Registry; blob stores serve signed URLs).
// Credentials stay with the registry's origin, an https→http hop is refused, hops are bounded.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { createTestCA, faults, failFirst, pushImage, startBlobCdn, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { AcrImportError } from '../../src/errors.js';
import { testTransport, readAll } from '../registry/helpers.js';
import { basic, engineClient, startForeignOrigin, withAuthorization } from './helpers.js';
import { cli, expectExit, skopeoRaw } from '../import/helpers.js';

const htpasswd = inject('htpasswdRegistry');
const open = inject('openRegistry');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A registry.k8s.io-like front: manifests (GET and HEAD) 307 to `elsewhere`, the rest served. */
async function k8sFront(upstream: string, elsewhere: string) {
  return stopAfterAll(startProxy({ upstream, hook: (r) => (r.kind === 'manifest' ? faults.redirect(`${elsewhere}${r.path}`) : undefined) }));
}

describe('manifest redirects (registry.k8s.io)', () => {
  it('follows a 307 to another origin for manifest HEAD and GET, sending the credentials only to the registry', async () => {
    const repo = uniqueRepo('k8s');
    const image = await pushImage(htpasswd, repo, 'v1', { kind: 'index', platforms: 2 });
    const store = await startForeignOrigin(htpasswd);
    const front = await k8sFront(htpasswd.url, store.url);
    const { client } = engineClient(front.url, basic(htpasswd));
    const head = await client.headManifest(repo, 'v1');
    expect(head?.digest).toBe(image.digest);
    const m = await client.getManifest(repo, 'v1');
    expect(m.bytes.equals(image.bytes)).toBe(true);
    expect(m.mediaType).toBe(image.mediaType);
    // Blobs come from the registry itself, with its credentials; the other origin got none.
    const child = image.children[0]!;
    const layer = child.layers[0]!;
    expect(sha(await readAll(client.getBlob(repo, { digest: layer.digest, size: layer.size })))).toBe(layer.digest);
    expect(store.requests.map((q) => q.method).sort()).toEqual(['GET', 'HEAD']);
    expect(withAuthorization(store)).toEqual([]);
    expect(store.requests.every((q) => q.status === 200)).toBe(true);
  });

  it('imports with the CLI from a registry that redirects every manifest request', async () => {
    const repo = uniqueRepo('k8s-cli');
    const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2 });
    const elsewhere = await stopAfterAll(startProxy({ upstream: open.url }));
    const front = await k8sFront(open.url, elsewhere.url);
    const dest = uniqueRepo('k8s-dst');
    const r = await cli(['--name', open.host, '--source', `${front.host}/${repo}:v1`, '-t', `${dest}:v1`]);
    expectExit(r, 0);
    expect(sha(await skopeoRaw(`${open.host}/${dest}:v1`))).toBe(image.digest);
    expect(front.requests.filter((q) => q.kind === 'manifest').every((q) => q.status === 307)).toBe(true);
    expect(elsewhere.requests.filter((q) => q.kind === 'manifest').length).toBeGreaterThanOrEqual(3);
  });

  it('gives finalUrl as the last hop, and gives up after 5 hops', async () => {
    const repo = uniqueRepo('hops');
    const image = await pushImage(open, repo, 'v1', { kind: 'image' });
    const elsewhere = await stopAfterAll(startProxy({ upstream: open.url }));
    const front = await k8sFront(open.url, elsewhere.url);
    const transport = testTransport();
    try {
      const url = `${front.url}/v2/${repo}/manifests/${image.digest}`;
      const res = await transport.send({ method: 'GET', url, followRedirects: true, headers: { accept: image.mediaType } });
      await res.body.dump();
      expect(res.status).toBe(200);
      expect(res.url).toBe(url);
      expect(res.finalUrl).toBe(`${elsewhere.url}/v2/${repo}/manifests/${image.digest}`);
      // A redirect loop: the first request and 5 hops, then a clear error.
      const loop = await stopAfterAll(startProxy({ upstream: open.url }));
      loop.setHook((r) => faults.redirect(`${loop.url}${r.path}`));
      const err = await transport.send({ method: 'GET', url: `${loop.url}/v2/${repo}/manifests/v1`, followRedirects: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AcrImportError);
      expect((err as Error).message).toMatch(/redirected more than 5 times/);
      expect(loop.requests).toHaveLength(6);
    } finally {
      await transport.close();
    }
  });

  it('refuses a redirect from https down to http, sending nothing there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-ca-'));
    try {
      const ca = await createTestCA(dir);
      const plain = await stopAfterAll(startProxy({ upstream: open.url }));
      const secure = await stopAfterAll(startProxy({ upstream: open.url, tls: ca, hook: (r) => faults.redirect(`${plain.url}${r.path}`) }));
      const transport = testTransport({ ca: ca.certPem });
      try {
        const err = await transport.send({ method: 'GET', url: `${secure.url}/v2/x/manifests/v1`, followRedirects: true, headers: { authorization: 'Bearer secret' } }).catch((e: unknown) => e);
        expect((err as Error).message).toMatch(/from https to http.*refusing the downgrade/);
        expect(plain.requests).toHaveLength(0);
      } finally {
        await transport.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('blob redirects (blob stores, signed URLs)', () => {
  it('takes a 3xx to a blob HEAD as "exists", without following it to the signed URL', async () => {
    const repo = uniqueRepo('head3xx');
    const image = await pushImage(open, repo, 'v1', { kind: 'image' });
    const cdn = await stopAfterAll(startBlobCdn({ registry: open }));
    const front = await stopAfterAll(startProxy({ upstream: open.url, hook: (r) => (r.kind === 'blob' && r.reference ? faults.redirect(cdn.urlFor(r.repo!, r.reference)) : undefined) }));
    const { client } = engineClient(front.url);
    expect(await client.hasBlob(repo, image.layers[0]!.digest)).toBe(true);
    expect(cdn.requests).toHaveLength(0);
  });

  it('asks the registry again, once, when a signed URL answers 403 (expired)', async () => {
    const repo = uniqueRepo('expired');
    const image = await pushImage(open, repo, 'v1', { kind: 'image', layerSize: 200 * 1024 });
    const cdn = await stopAfterAll(startBlobCdn({ registry: open, rejectAuthorization: true }));
    const layer = image.layers[0]!;
    // The first redirect carries no signature: the store answers 403.
    const expired = failFirst(1, (r) => r.kind === 'blob' && r.method === 'GET', (r) => faults.redirect(cdn.urlFor(r.repo!, r.reference!).replace(/\?.*/, '')));
    const front = await stopAfterAll(startProxy({ upstream: open.url, hook: (r) => expired(r) ?? cdn.redirectBlobGets()(r) }));
    const { client } = engineClient(front.url);
    const bytes = await readAll(client.getBlob(repo, { digest: layer.digest, size: layer.size }));
    expect(sha(bytes)).toBe(layer.digest);
    expect(cdn.requests.map((q) => q.status)).toEqual([403, 200]);
    expect(front.requests.filter((q) => q.kind === 'blob')).toHaveLength(2);
  });

  it('imports through blob redirects to a store that refuses Authorization, its signature never in --debug', async () => {
    const repo = uniqueRepo('cdn-cli');
    const image = await pushImage(htpasswd, repo, 'v1', { kind: 'index', platforms: 2, layerSize: 100 * 1024 });
    const cdn = await stopAfterAll(startBlobCdn({ registry: htpasswd, rejectAuthorization: true }));
    const front = await stopAfterAll(startProxy({ upstream: htpasswd.url, hook: cdn.redirectBlobGets() }));
    const dest = uniqueRepo('cdn-dst');
    const r = await cli(['--name', open.host, '--source', `${front.host}/${repo}:v1`, '-t', `${dest}:v1`, '--username', htpasswd.username, '--password', htpasswd.password, '--debug']);
    expectExit(r, 0);
    expect(sha(await skopeoRaw(`${open.host}/${dest}:v1`))).toBe(image.digest);
    expect(cdn.requests.length).toBeGreaterThan(0);
    expect(cdn.requests.filter((q) => q.hadAuthorization)).toEqual([]);
    expect(r.stderr).toContain('sig=***');
    expect(r.stderr).not.toMatch(/sig=harness-/);
    expect(r.stderr).not.toContain(htpasswd.password);
  });
});
