// Bad input, each answered with a clear message, a distinct exit code and no stack trace, and
// with nothing tagged in the target.
import { describe, expect, inject, it } from 'vitest';
import { getFreePort, pushImage, putRawManifest, startProxy, stopAfterAll, uniqueRepo, faults, MediaTypes } from '../harness/index.js';
import { cli, cleanEnv, expectExit, expectNoStack, listTags } from '../import/helpers.js';

const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');
const tls = inject('tlsRegistry');


async function expectRefused(args: string[], code: number, message: RegExp, env = cleanEnv()) {
  const r = await cli(args, { env });
  expectExit(r, code);
  expect(r.stderr).toMatch(message);
  expectNoStack(r.stderr);
  expect(r.stdout).toBe('');
  return r;
}

describe('malformed references and flags (exit 2)', () => {
  const cases: [string, string[], RegExp][] = [
    ['bad characters', ['--source', `${open.host}/app$:1`], /invalid image reference/],
    ['upper-case repository', ['--source', `${open.host}/MyApp:1`], /lower case/],
    ['over-long tag', ['--source', `${open.host}/app:${'t'.repeat(129)}`], /tag/],
    ['unknown digest algorithm', ['--source', `${open.host}/app@md5:${'a'.repeat(32)}`], /not supported|unknown digest algorithm/],
    ['wrong digest length', ['--source', `${open.host}/app@sha256:abc`], /64/],
    ['dot-dot path', ['--source', `${open.host}/a/../b:1`], /invalid image reference/],
    ['percent-encoded slash', ['--source', `${open.host}/a%2Fb:1`], /invalid image reference/],
    ['a URL instead of a reference', ['--source', `https://${open.host}/app:1`], /scheme/],
    ['bad target image', ['--source', `${open.host}/app:1`, '-t', 'Bad:1'], /lower case/],
    ['unknown flag', ['--source', 'x', '--frobnicate'], /unknown option '--frobnicate'/],
    ['bad output format', ['--source', 'x', '-o', 'yaml'], /invalid/],
    ['both secrets from stdin', ['--source', `${open.host}/app:1`, '--password-stdin', '--target-password-stdin'], /Only one of --password-stdin and --target-password-stdin/],
    ['a password both as a flag and from stdin', ['--source', `${open.host}/app:1`, '-p', 'x', '--password-stdin'], /--password and --password-stdin are mutually exclusive/],
    ['username without password', ['--source', `${open.host}/app:1`, '-u', 'someone'], /Authentication failed\. Please provide password\./],
    ['bad size', ['--source', `${open.host}/app:1`, '--max-layer-size', 'huge'], /--max-layer-size takes a size/],
    ['missing --source', [], /required option '--source <image>'/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      await expectRefused(['--name', open.host, ...args], 2, message);
    });
  }
});

describe('credentials and reachability', () => {
  it('missing credentials for a registry that needs them (exit 3)', async () => {
    const repo = uniqueRepo('auth');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const r = await expectRefused(['--name', htpasswd.host, '--source', `${open.host}/${repo}:v1`, '-t', 'x:1'], 3, /requires authentication \(HTTP 401/);
    expect(r.stderr).toMatch(/no credentials were given/);
    expect(r.stderr).toMatch(/--target-username/);
  });

  it('an unreachable host (exit 8)', async () => {
    const port = await getFreePort();
    await expectRefused(['--name', open.host, '--source', `127.0.0.1:${port}/app:1`, '--retries', '1'], 8, /Cannot connect to registry 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('a DNS name that does not resolve (exit 8)', async () => {
    await expectRefused(['--name', open.host, '--source', 'no-such-registry.invalid/app:1', '--retries', '1'], 8, /Cannot resolve registry host 'no-such-registry\.invalid'/);
  });

  it('a TLS registry whose certificate is not trusted (exit 8)', async () => {
    // Loopback is tried over http first; the registry says it speaks TLS, and its CA is unknown here.
    const r = await expectRefused(['--name', open.host, '--source', `${tls.host}/app:1`, '--retries', '1'], 8, /TLS failure talking to/);
    expect(r.stderr).toMatch(/NODE_EXTRA_CA_CERTS/);
  });

  it('a registry that answers HTML (exit 9)', async () => {
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: () => faults.html(200) }));
    await expectRefused(['--name', open.host, '--source', `${proxy.host}/app:1`], 9, /does not speak the registry API|HTML/);
  });
});

describe('broken source content (exit 9, nothing tagged)', () => {
  async function viaProxy(hookBody: (ref: string) => { status: number; headers: Record<string, string>; body: Buffer | string } | undefined, repo: string, ref: string) {
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'manifest' && q.method === 'GET' ? (() => { const b = hookBody(q.reference!); return b && { kind: 'respond' as const, ...b }; })() : undefined) }));
    const dest = uniqueRepo('dst');
    const r = await cli(['--name', open.host, '--source', `${proxy.host}/${repo}${ref}`, '-t', `${dest}:v1`]);
    return { r, dest };
  }

  it('a manifest that is not JSON', async () => {
    const junk = Buffer.from('this is not json');
    const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(junk).digest('hex')}`;
    const headers = { 'content-type': MediaTypes.ociManifest, 'docker-content-digest': digest };
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'manifest' ? { kind: 'respond', status: 200, headers, body: q.method === 'HEAD' ? '' : junk } : undefined) }));
    const dest = uniqueRepo('dst');
    const r = await cli(['--name', open.host, '--source', `${proxy.host}/app:v1`, '-t', `${dest}:v1`]);
    expectExit(r, 9);
    expect(r.stderr).toMatch(/is not valid JSON/);
    expectNoStack(r.stderr);
    expect(await listTags(open.url, dest)).toEqual([]);
  });

  it('a manifest over 4 MiB', async () => {
    const repo = uniqueRepo('huge');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const { r, dest } = await viaProxy(() => ({ status: 200, headers: { 'content-type': MediaTypes.ociManifest }, body: Buffer.alloc(5 * 1024 * 1024, 0x20) }), repo, ':v1');
    expectExit(r, 9);
    expect(r.stderr).toMatch(/larger than 4 MiB/);
    expect(await listTags(open.url, dest)).toEqual([]);
  });

  it('a manifest whose bytes do not match its digest', async () => {
    const repo = uniqueRepo('mismatch');
    const image = await pushImage(open, repo, 'v1', { kind: 'image' });
    const { r, dest } = await viaProxy(() => ({ status: 200, headers: { 'content-type': image.mediaType }, body: Buffer.concat([image.bytes, Buffer.from('\n')]) }), repo, `@${image.digest}`);
    expectExit(r, 9);
    expect(r.stderr).toMatch(/does not match its digest/);
    expect(await listTags(open.url, dest)).toEqual([]);
  });

  it('a blob whose bytes do not match its digest', async () => {
    const repo = uniqueRepo('badblob');
    const image = await pushImage(open, repo, 'v1', { kind: 'image', layerSize: 200_000 });
    const layer = image.blobs.find((b) => b.size > 100_000)!;
    const proxy = await stopAfterAll(
      startProxy({
        upstream: open.url,
        hook: (q) => (q.kind === 'blob' && q.method === 'GET' && q.reference === layer.digest ? { kind: 'respond', status: 200, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(layer.size, 7) } : undefined),
      }),
    );
    const dest = uniqueRepo('dst');
    const r = await cli(['--name', open.host, '--source', `${proxy.host}/${repo}:v1`, '-t', `${dest}:v1`]);
    expectExit(r, 9);
    expect(r.stderr).toMatch(new RegExp(`Blob ${layer.digest} .* hash to sha256:`));
    expect(await listTags(open.url, dest)).toEqual([]);
  });

  it('indexes nested too deep', async () => {
    const repo = uniqueRepo('deep');
    const image = await pushImage(open, repo, 'leaf', { kind: 'image' });
    let child = { mediaType: image.mediaType, digest: image.digest, size: image.bytes.length };
    for (let i = 0; i < 10; i++) {
      const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [child] }));
      const put = await putRawManifest(open, repo, i === 9 ? 'top' : '', bytes, MediaTypes.ociIndex);
      expect(put.status).toBe(201);
      child = { mediaType: MediaTypes.ociIndex, digest: put.digest, size: bytes.length };
    }
    const dest = uniqueRepo('dst');
    const r = await cli(['--name', open.host, '--source', `${open.host}/${repo}:top`, '-t', `${dest}:v1`]);
    expectExit(r, 9);
    expect(r.stderr).toMatch(/nest more than 8 levels/);
    expect(await listTags(open.url, dest)).toEqual([]);
  });
});

describe('unknown media types', () => {
  it('copies an artifact with an unknown config type, which the registry accepts', async () => {
    const repo = uniqueRepo('unknown-config');
    const image = await pushImage(open, repo, 'v1', { kind: 'artifact', artifactType: 'application/vnd.example.thing.v1', config: { mediaType: 'application/vnd.example.config.v1+json', content: '{"x":1}' }, files: [{ mediaType: 'application/vnd.example.data.v1', size: 1000 }] });
    const dest = uniqueRepo('dst');
    const r = await cli(['--name', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${dest}:v1`, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().sourceDigest).toBe(image.digest);
    expect(await listTags(open.url, dest)).toEqual(['v1']);
  });

  it('says clearly when the target refuses a manifest type it does not know', async () => {
    const repo = uniqueRepo('unknown-manifest');
    const image = await pushImage(open, repo, 'v1', { kind: 'image' });
    const odd = Buffer.from(JSON.stringify({ ...image.json, mediaType: 'application/vnd.example.manifest.v1+json' }));
    const oddDigest = `sha256:${(await import('node:crypto')).createHash('sha256').update(odd).digest('hex')}`;
    const headers = { 'content-type': 'application/vnd.example.manifest.v1+json', 'docker-content-digest': oddDigest };
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'manifest' && q.repo === repo ? { kind: 'respond', status: 200, headers, body: q.method === 'HEAD' ? '' : odd } : undefined) }));
    const dest = uniqueRepo('dst');
    const r = await cli(['--name', open.host, '--source', `${proxy.host}/${repo}:v1`, '-t', `${dest}:v1`]);
    expectExit(r, 9);
    expect(r.stderr).toMatch(/PUT .*manifests.* failed with HTTP 400 \(MANIFEST_INVALID/);
    expectNoStack(r.stderr);
    expect(await listTags(open.url, dest)).toEqual([]);
  });
});
