// --skip-tls-verify against the harness's TLS registry (a certificate this process does not trust):
// refused without it, copied with it and said so on stderr, per registry, never for Azure sign-in.
import { describe, expect, inject, it } from 'vitest';
import { pushImage, uniqueRepo } from '../harness/index.js';
import { cli, expectExit, expectNoStack, skopeoRaw } from '../import/helpers.js';

const tls = inject('tlsRegistry');
const open = inject('openRegistry');

describe('--skip-tls-verify', () => {
  it('a registry whose certificate is not trusted: a TLS error naming the way out; with the flag, the copy', async () => {
    const src = await pushImage(tls, uniqueRepo('skip-tls/src'), 'v1', { kind: 'index', platforms: 2 });
    const refused = await cli(['-n', open.host, '--source', `${tls.host}/${src.repo}:v1`, '-t', `${uniqueRepo('skip-tls/no')}:v1`]);
    expectExit(refused, 8);
    expect(refused.stderr).toMatch(/TLS failure talking to/);
    expect(refused.stderr).toContain(`--skip-tls-verify ${tls.host}`);
    expectNoStack(refused.stderr);

    const dst = uniqueRepo('skip-tls/dst');
    const r = await cli(['-n', open.host, '--source', `${tls.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--skip-tls-verify', tls.host]);
    expectExit(r, 0);
    expect(r.stderr).toMatch(new RegExp(`Warning: TLS certificates of ${tls.host.replace(/\./g, '\\.')} are not verified`));
    expect(r.stderr).toContain('NODE_EXTRA_CA_CERTS');
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
  });

  it('applies to the registries it names only', async () => {
    const src = await pushImage(tls, uniqueRepo('skip-tls/other'), 'v1', { kind: 'image' });
    const r = await cli(['-n', open.host, '--source', `${tls.host}/${src.repo}:v1`, '-t', `${uniqueRepo('skip-tls/other-dst')}:v1`, '--skip-tls-verify', 'registry.example:5443']);
    expectExit(r, 8);
  });

  it('is refused for Entra ID and Azure Resource Manager endpoints, and with --server-side', async () => {
    for (const host of ['login.microsoftonline.com', 'management.azure.com', 'management.usgovcloudapi.net:443']) {
      const r = await cli(['-n', open.host, '--source', `${open.host}/x:v1`, '--skip-tls-verify', host]);
      expectExit(r, 2);
      expect(r.stderr).toMatch(/Entra ID or Azure Resource Manager endpoint/);
    }
    const server = await cli(['-n', 'myregistry', '--source', 'docker.io/library/nginx:1.27', '--server-side', '--skip-tls-verify', tls.host]);
    expectExit(server, 2);
    expect(server.stderr).toMatch(/--skip-tls-verify does not apply with --server-side/);
  });
});
