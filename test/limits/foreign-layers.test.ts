// --include-foreign-layers without request forgery: a manifest's `urls` are the source's to write,
// so only https URLs to public addresses are fetched (checked on the address connected to, and again
// on every redirect), nothing is read past the declared size, and nothing is said about refused
// bytes. The test network guard fails any test that connects or resolves beyond loopback: the
// refusals of 169.254.169.254 and 10.x below are proven to happen before any connection.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { fetchForeignRequests, foreignLayerUrl, MediaTypes, putBlob, putRawManifest, uniqueRepo } from '../harness/index.js';
import { makeLayer } from '../harness/blobgen.js';
import { cli, expectExit, expectNoStack, listTags } from '../import/helpers.js';

const open = inject('openRegistry');
const foreignServer = inject('foreignLayerServer');
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An image in the open registry whose one layer is foreign: `size` bytes with `digest`, at `url`. */
async function foreignImage(url: string, layer: { digest: string; size: number }): Promise<{ repo: string; known: string[] }> {
  const repo = uniqueRepo('foreign-limits/src');
  const config = await putBlob(open, repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'windows', rootfs: { type: 'layers', diff_ids: [] } })));
  const put = await putRawManifest(
    open,
    repo,
    'v1',
    { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, ...config }, layers: [{ mediaType: MediaTypes.ociNondistributableGzip, ...layer, urls: [url] }] },
    MediaTypes.ociManifest,
  );
  expect(put.status, JSON.stringify(put.headers)).toBe(201);
  return { repo, known: [config.digest, layer.digest, put.digest] };
}

/** Imports with --include-foreign-layers (and any extra flags) into a fresh repository. */
async function importIt(repo: string, extra: string[] = []) {
  const dst = uniqueRepo('foreign-limits/dst');
  const r = await cli(['-n', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${dst}:v1`, '--include-foreign-layers', '--retries', '0', ...extra]);
  return { r, dst };
}

/** No digest in the output but those the manifests named: nothing about refused bytes. */
function expectOnlyKnownDigests(text: string, known: string[]): void {
  for (const d of text.match(/sha256:[0-9a-f]{64}/g) ?? []) expect(known).toContain(d);
}

const tenBytes = { digest: sha256(Buffer.from('0123456789')), size: 10 };
const allow = ['--allow-foreign-layer-host', '127.0.0.1'];

describe('foreign layer URLs that are refused before any connection', () => {
  it.each([
    ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data/iam/security-credentials/', /169\.254\.169\.254 is not a public address/],
    ['a private address', 'https://10.1.2.3/layer.tar.gz', /10\.1\.2\.3 is not a public address/],
    ['a CGNAT address', 'https://100.64.0.7/layer.tar.gz', /100\.64\.0\.7 is not a public address/],
    ['a unique-local IPv6 address', 'https://[fd00::1]/layer.tar.gz', /fd00::1 is not a public address/],
    ['a link-local IPv6 address', 'https://[fe80::1]/layer.tar.gz', /fe80::1 is not a public address/],
    ['an IPv4-mapped private address', 'https://[::ffff:192.168.0.1]/layer.tar.gz', /::ffff:c0a8:1 is not a public address/],
    ['plain http to a public-looking name', 'http://layers.example.com/layer.tar.gz', /https only/],
    ['loopback', `${foreignServer.url}/layers/x/10/gzip/${tenBytes.digest}`, /https only/],
  ])('%s: exit 5, the rule named, no tag', async (_what, url, message) => {
    const { repo, known } = await foreignImage(url, tenBytes);
    const { r, dst } = await importIt(repo);
    expectExit(r, 5);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('--allow-foreign-layer-host');
    expectNoStack(r.stderr);
    expectOnlyKnownDigests(r.stderr, known);
    expect(await listTags(open.url, dst)).toEqual([]);
  });
});

describe('foreign layer hosts checked on the address they resolve to', () => {
  const saved = process.env.TEST_NETWORK_GUARD_HOSTS;
  afterEach(() => {
    if (saved === undefined) delete process.env.TEST_NETWORK_GUARD_HOSTS;
    else process.env.TEST_NETWORK_GUARD_HOSTS = saved;
  });

  it('a public-looking name that resolves to a loopback address is refused when it is looked up', async () => {
    // The name passes every check of the URL itself; only the resolved address gives it away (DNS rebinding).
    process.env.TEST_NETWORK_GUARD_HOSTS = [saved, 'cdn.layers-example.com=127.0.0.1'].filter(Boolean).join(',');
    const { repo, known } = await foreignImage('https://cdn.layers-example.com/layer.tar.gz', tenBytes);
    const { r, dst } = await importIt(repo);
    expectExit(r, 5);
    expect(r.stderr).toMatch(/cdn\.layers-example\.com resolves to 127\.0\.0\.1, which is not a public address; refusing to connect/);
    expectOnlyKnownDigests(r.stderr, known);
    expect(await listTags(open.url, dst)).toEqual([]);
  });

  it('through a proxy (HTTPS_PROXY), the name is resolved and checked before the request goes to the proxy', async () => {
    const env = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
    // A proxy that is not there: reaching it would fail with a connection error (exit 8), not a refusal.
    process.env.HTTPS_PROXY = 'http://127.0.0.1:9';
    process.env.NO_PROXY = '127.0.0.1,localhost';
    process.env.TEST_NETWORK_GUARD_HOSTS = [saved, 'cdn.layers-example.com=127.0.0.1'].filter(Boolean).join(',');
    try {
      const { repo, known } = await foreignImage('https://cdn.layers-example.com/layer.tar.gz', tenBytes);
      const { r, dst } = await importIt(repo);
      expectExit(r, 5);
      expect(r.stderr).toMatch(/cdn\.layers-example\.com resolves to 127\.0\.0\.1, which is not a public address/);
      expectOnlyKnownDigests(r.stderr, known);
      expect(await listTags(open.url, dst)).toEqual([]);
    } finally {
      for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('--allow-foreign-layer-host lets that host through (http, loopback) and the layer is copied', async () => {
    const layer = makeLayer('foreign-limits-allowed', 5000, 'gzip');
    const url = foreignLayerUrl(foreignServer.url, 'foreign-limits-allowed', 5000, 'gzip', layer.digest);
    const { repo } = await foreignImage(url, { digest: layer.digest, size: layer.bytes.length });
    const { r, dst } = await importIt(repo, allow);
    expectExit(r, 0);
    expect(await listTags(open.url, dst)).toEqual(['v1']);
    const blob = await fetch(`${open.url}/v2/${dst}/blobs/${layer.digest}`);
    expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(layer.digest);
  });
});

describe('redirects are checked at every hop', () => {
  it.each([
    ['to the metadata address', 'https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is not a public address/],
    ['to plain http elsewhere', 'http://layers.example.com/layer.tar.gz', /https only/],
  ])('an allowed host redirecting %s is refused at the redirect', async (_what, to, message) => {
    const url = `${foreignServer.url}/redirect?to=${encodeURIComponent(to)}`;
    const { repo, known } = await foreignImage(url, tenBytes);
    const { r, dst } = await importIt(repo, allow);
    expectExit(r, 5);
    expect(r.stderr).toMatch(message);
    expectOnlyKnownDigests(r.stderr, known);
    expect(await listTags(open.url, dst)).toEqual([]);
    const redirects = (await fetchForeignRequests(foreignServer.url)).filter((q) => q.path === new URL(url).pathname + new URL(url).search);
    expect(redirects.map((q) => q.status)).toEqual([302]);
  });
});

describe('nothing is read past the declared size', () => {
  const MiB512 = 512 * 1024 * 1024;

  async function flood(query: string) {
    const path = `/flood/${MiB512}${query}`;
    const { repo, known } = await foreignImage(`${foreignServer.url}${path}`, tenBytes);
    const { r, dst } = await importIt(repo, allow);
    const served = (await fetchForeignRequests(foreignServer.url)).filter((q) => q.path === path);
    return { r, dst, known, served };
  }

  it('a 10-byte descriptor served 512 MiB (no length announced) stops reading at once: exit 9, no hash of what came', async () => {
    const { r, dst, known, served } = await flood(`?run=${Date.now()}`);
    expectExit(r, 9);
    expect(r.stderr).toMatch(/is larger than the 10 bytes its descriptor declares; stopped reading/);
    expectOnlyKnownDigests(r.stderr, known);
    expect(await listTags(open.url, dst)).toEqual([]);
    expect(served).toHaveLength(1);
    // What left the server before the client hung up: socket buffers, not 512 MiB.
    expect(served[0]!.bytesSent).toBeLessThan(16 * 1024 * 1024);
  });

  it('a Content-Length over the declared size is refused before the body is read', async () => {
    const { r, served } = await flood(`?announce&run=${Date.now()}`);
    expectExit(r, 9);
    expect(r.stderr).toMatch(/larger than the 10 bytes its descriptor declares/);
    expect(served[0]!.bytesSent).toBeLessThan(16 * 1024 * 1024);
  });

  it('the declared size with other content is refused without the hash of that content', async () => {
    const path = `/flood/10?run=${Date.now()}`;
    const { repo, known } = await foreignImage(`${foreignServer.url}${path}`, tenBytes);
    const { r, dst } = await importIt(repo, allow);
    expectExit(r, 9);
    expect(r.stderr).toMatch(/does not match its descriptor/);
    expect(r.stderr).not.toContain(sha256(Buffer.alloc(10)));
    expectOnlyKnownDigests(r.stderr, known);
    expect(await listTags(open.url, dst)).toEqual([]);
  });
});
