import { Agent, request } from 'undici';
import { describe, expect, inject, test } from 'vitest';
import { MediaTypes, findRegistryBinary, getManifest, pushImage, run, startRegistry, stopAfterAll, uniqueRepo } from '../harness/index.js';

describe('open registry', () => {
  test('multi-arch fixture reads back byte-identical through skopeo', async () => {
    const reg = inject('openRegistry');
    const repo = uniqueRepo('selftest/multiarch');
    const pushed = await pushImage(reg, repo, 'v1', { kind: 'index', platforms: 4, attestations: true });
    expect(pushed.manifests).toHaveLength(1 + 4 + 4);
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${repo}:v1`]);
    expect(stdout.equals(pushed.bytes)).toBe(true);
    // A child by digest too.
    const child = pushed.children[1]!;
    const { stdout: childRaw } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${repo}@${child.digest}`]);
    expect(childRaw.equals(child.bytes)).toBe(true);
  });
});

describe('htpasswd registry', () => {
  test('401 without credentials, works as testuser', async () => {
    const reg = inject('htpasswdRegistry');
    const anon = await request(`${reg.url}/v2/`);
    await anon.body.dump();
    expect(anon.statusCode).toBe(401);
    expect(String(anon.headers['www-authenticate'])).toMatch(/^Basic realm=/);
    const auth = `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString('base64')}`;
    const ok = await request(`${reg.url}/v2/`, { headers: { authorization: auth } });
    await ok.body.dump();
    expect(ok.statusCode).toBe(200);
    const wrong = await request(`${reg.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from('testuser:nope').toString('base64')}` } });
    await wrong.body.dump();
    expect(wrong.statusCode).toBe(401);

    const repo = uniqueRepo('selftest/htpasswd');
    const pushed = await pushImage(reg, repo, 'latest', { kind: 'image' });
    const got = await getManifest(reg, repo, 'latest');
    expect(got.bytes.equals(pushed.bytes)).toBe(true);
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${reg.username}:${reg.password}`, `docker://${reg.host}/${repo}:latest`]);
    expect(stdout.equals(pushed.bytes)).toBe(true);
  });
});

describe('TLS registry', () => {
  test('answers with the harness CA and fails without it', async () => {
    const reg = inject('tlsRegistry');
    expect(reg.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const withCa = new Agent({ connect: { ca: reg.ca } });
    const res = await request(`${reg.url}/v2/`, { dispatcher: withCa });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    await withCa.close();
    const plain = new Agent();
    await expect(request(`${reg.url}/v2/`, { dispatcher: plain })).rejects.toThrow(/certificate|self[- ]signed|verify/i);
    await plain.close();

    const repo = uniqueRepo('selftest/tls');
    const pushed = await pushImage(reg, repo, 'v1', { kind: 'image', mediaTypes: 'docker' });
    expect(pushed.mediaType).toBe(MediaTypes.dockerManifest);
    // skopeo verifies against a cert dir holding the CA as *.crt
    const { mkdtempSync, copyFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const certDir = mkdtempSync(`${tmpdir()}/harness-certs-`);
    try {
      copyFileSync(reg.caPath, `${certDir}/ca.crt`);
      const { stdout } = await run('skopeo', ['inspect', '--raw', '--cert-dir', certDir, `docker://${reg.host}/${repo}:v1`]);
      expect(stdout.equals(pushed.bytes)).toBe(true);
    } finally {
      rmSync(certDir, { recursive: true, force: true });
    }
  });
});

describe('private registry options', () => {
  test('relativeurls gives relative upload Locations', async () => {
    const reg = await stopAfterAll(startRegistry({ relativeUrls: true }));
    const res = await request(`${reg.url}/v2/${uniqueRepo('selftest/rel')}/blobs/uploads/`, { method: 'POST' });
    await res.body.dump();
    expect(res.statusCode).toBe(202);
    expect(String(res.headers.location)).toMatch(/^\/v2\//);
    // and the fixture builder copes with it
    await pushImage(reg, uniqueRepo('selftest/rel'), 'v1', { kind: 'image' });
  });
});

describe('registry binary lookup', () => {
  test('finds /usr/bin/docker-registry, and explains how to install it when missing', () => {
    expect(findRegistryBinary()).toMatch(/docker-registry$/);
    expect(() => findRegistryBinary('/nonexistent/docker-registry', '/nonexistent')).toThrow(
      'install it with `sudo apt-get install -y docker-registry` (Debian package docker-registry)',
    );
  });
});
