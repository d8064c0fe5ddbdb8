// What the matrix does not check on its own: what each registry's particular behaviour asks of
// the tool beyond "the copy is complete" (pull metering, the token each realm hands out, media
// types taken from the JSON, a forward proxy refusing to tunnel).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MediaTypes, describeHops, getManifest, pushImage, putBlob, putRawManifest, startRefusingProxy, uniqueRepo, type Personality } from '../harness/index.js';
import { cleanEnv, cli, expectExit, expectNoStack } from '../import/helpers.js';
import { credentialArgs, expectCopied, expectCredentialsStayed, hopsOf, open, startPersonalities } from './matrix.js';

const execFileAsync = promisify(execFile);
const BIN = new URL('../../bin/acr-import.js', import.meta.url).pathname;
const tls = inject('tlsRegistry');

let ps: Record<string, Personality> = {};
beforeAll(async () => {
  ps = await startPersonalities(['docker-hub', 'anonymous-token', 'minimal', 'registry.k8s.io']);
  return () => Promise.all(Object.values(ps).map((p) => p.stop())).then(() => undefined);
});

/** Imports `repo:v1` from `source` into the counterpart registry; returns the CLI result and the target repository. */
async function importFrom(source: Personality, repo: string) {
  const target = ps.counterpart!;
  const dst = uniqueRepo('behaviour/dst');
  const r = await cli(['-n', target.host, '--source', `${source.host}/${repo}:v1`, '-t', `${dst}:v1`, ...credentialArgs(source, 'source'), ...credentialArgs(target, 'target')]);
  return { r, dst };
}

describe('docker-hub', () => {
  it('pulls each manifest once with GET (HEADs are free), trades credentials only at the realm, and reports the pull limit', async () => {
    const hub = ps['docker-hub']!;
    const repo = uniqueRepo('hub/src');
    const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 3 });
    const { r, dst } = await importFrom(hub, repo);
    expectExit(r, 0);
    await expectCopied(dst, image, false);
    const hops = hopsOf(hub, [repo]);
    const gets = hops.filter((h) => h.role === 'registry' && h.kind === 'manifest' && h.method === 'GET' && h.status === 200);
    expect(gets.map((h) => h.reference).sort(), describeHops(hops)).toEqual(image.manifests.map((m) => m.digest).sort());
    expect(r.stderr).toMatch(/pull limit: \d+;w=21600 of 100;w=21600 left/);
    // Basic goes to the realm only; the registry sees bearer tokens.
    expect(hops.filter((h) => h.role === 'registry' && /^Basic /i.test(h.authorization ?? ''))).toEqual([]);
    expect(hops.some((h) => h.role === 'realm' && h.authorization === `Basic ${hub.credentials!.username}`)).toBe(true);
    expectCredentialsStayed([{ personality: hub, repos: [repo] }, { personality: ps.counterpart!, repos: [dst] }]);

    // A re-run with nothing to copy costs no pull at all.
    const before = hub.log.hops.length;
    expectExit(await cli(['-n', ps.counterpart!.host, '--source', `${hub.host}/${repo}:v1`, '-t', `${dst}:v1`, ...credentialArgs(hub, 'source'), ...credentialArgs(ps.counterpart!, 'target')]), 0);
    expect(hub.log.hops.slice(before).filter((h) => h.kind === 'manifest' && h.method === 'GET')).toEqual([]);
  });
});

describe('anonymous-token (GHCR, Quay)', () => {
  it('pulls anonymously with a token for the repository it reads, not the placeholder scope, and never HEADs a signed URL', async () => {
    const ghcr = ps['anonymous-token']!;
    const repo = uniqueRepo('ghcr/src');
    const image = await pushImage(open, repo, 'v1', { kind: 'image', layers: 2 });
    const { r, dst } = await importFrom(ghcr, repo);
    expectExit(r, 0);
    await expectCopied(dst, image, false);
    const hops = hopsOf(ghcr, [repo]);
    const realm = hops.filter((h) => h.role === 'realm');
    expect(realm.length, describeHops(ghcr.hops())).toBeGreaterThan(0);
    expect(realm.every((h) => h.authorization === undefined && h.path.includes(`repository:${repo}:pull`)), describeHops(realm)).toBe(true);
    expect(hops.filter((h) => h.role === 'side' && h.method === 'HEAD')).toEqual([]);
    expectCredentialsStayed([{ personality: ghcr, repos: [repo] }]);
  });
});

describe('minimal', () => {
  it('copies a manifest without a mediaType field, served as application/json with no digest and HEAD 405, under its own media type', async () => {
    const minimal = ps.minimal!;
    const repo = uniqueRepo('minimal/src');
    const config = await putBlob(open, repo, JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = await putBlob(open, repo, Buffer.from('a layer'));
    // OCI image manifests may leave mediaType out: the JSON still says what it is.
    const manifest = {
      schemaVersion: 2,
      config: { mediaType: MediaTypes.ociConfig, ...config },
      layers: [{ mediaType: MediaTypes.ociLayer, ...layer }],
    };
    const pushed = await putRawManifest(open, repo, 'v1', manifest, MediaTypes.ociManifest);
    expect(pushed.status).toBe(201);
    const { r, dst } = await importFrom(minimal, repo);
    expectExit(r, 0);
    expectNoStack(r.stderr);
    const got = await getManifest(open, dst, 'v1');
    expect(got.bytes.equals(Buffer.from(JSON.stringify(manifest)))).toBe(true);
    expect(got.mediaType).toBe(MediaTypes.ociManifest);
    expect(got.digest).toBe(pushed.digest);
  });
});

describe('corporate proxy refusing CONNECT', () => {
  let proxies: Awaited<ReturnType<typeof startRefusingProxy>>[] = [];
  afterAll(() => Promise.all(proxies.map((p) => p.stop())));

  for (const status of [407, 403] as const) {
    it(`${status}: a network error (exit 8) that names the proxy, with no registry credential sent to it`, async () => {
      const proxy = await startRefusingProxy(status);
      proxies.push(proxy);
      const repo = uniqueRepo('proxied/src');
      await pushImage(tls, repo, 'v1', { kind: 'image' });
      const env = cleanEnv({ NODE_EXTRA_CA_CERTS: tls.caPath, HTTPS_PROXY: proxy.url, CI: '1' });
      const run = await execFileAsync(process.execPath, [BIN, '--name', tls.host, '--source', `${tls.host}/${repo}:v1`, '-t', `${uniqueRepo('proxied/dst')}:v1`, '-u', 'someone', '-p', 'proxy-must-not-see-this'], { env }).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
      );
      expect(proxy.connects.length).toBeGreaterThan(0);
      expect(run.code, run.stderr).toBe(8);
      expect(run.stderr).toContain(proxy.url.replace('http://', ''));
      expectNoStack(run.stderr);
      expect(proxy.connects.every((c) => c.proxyAuthorization === undefined)).toBe(true);
    });
  }
});
