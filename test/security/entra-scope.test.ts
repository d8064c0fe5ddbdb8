// Entra ID goes only where it was meant to: a host with the cloud's ACR suffix, a login server ARM
// named, or an explicit `--*-auth-mode entra`; and its exchange only to the registry's own origin
// over https. A server that merely answers like ACR gets nothing.
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { setTokenCredential } from '../../src/providers/azure/entra.js';
import { AzureSession } from '../../src/providers/azure/session.js';
import { cloudByName } from '../../src/providers/azure/cloud.js';
import { Console } from '../../src/output/console.js';
import { Transport } from '../../src/transport/http.js';
import { getManifest, pushImage, startAcrOrigin, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { TestCredential, azureTestEnv, cli, cliChild, expectCode, fakeEntraJwt } from '../azure/helpers.js';
import { startHostile } from './hostile.js';

const open = inject('openRegistry');
const ACR_SCOPE = 'https://containerregistry.azure.net/.default';

afterEach(() => {
  setTokenCredential(undefined);
  delete process.env.TEST_NETWORK_GUARD_HOSTS;
});

describe('a look-alike registry', () => {
  it('gets no Entra ID token in auto mode, though its 401 reads exactly like ACR\'s (realm <own origin>/oauth2/token)', async () => {
    const lookalike = await stopAfterAll(startAcrOrigin());
    const token = fakeEntraJwt({ tid: 'victim-tenant', oid: 'victim', exp: Math.floor(Date.now() / 1000) + 3600 });
    lookalike.acceptAccessToken(token); // it would take the token gladly
    const cred = new TestCredential({ fixed: token });
    setTokenCredential(cred);
    const repo = uniqueRepo('security/lookalike');
    await pushImage(open, repo, 'v1', { kind: 'image' });

    // As a target, and as a source.
    const asTarget = await cli(['-n', lookalike.host, '--source', `${open.host}/${repo}:v1`]);
    expectCode(asTarget, 3);
    const asSource = await cli(['-n', open.host, '--source', `${lookalike.host}/${repo}:v1`, '-t', `${repo}-copy:v1`]);
    expectCode(asSource, 3);

    expect(cred.calls).toEqual([]);
    expect(lookalike.requests.filter((r) => r.endpoint === 'exchange')).toEqual([]);
    expect(lookalike.requests.every((r) => r.credential === 'anonymous')).toBe(true);
    expect((await getManifest(open, `${repo}-copy`, 'v1')).status).toBe(404);
    // Told explicitly, the same server gets Entra ID: the user chose it.
    const chosen = await cli(['-n', lookalike.host, '--source', `${open.host}/${repo}:v1`, '--target-auth-mode', 'entra']);
    expectCode(chosen, 0);
    expect(cred.calls).toEqual([ACR_SCOPE]);
  });

  it('is an ACR only by the cloud\'s suffix or ARM, never by a name that merely contains it', async () => {
    const transport = new Transport();
    const session = new AzureSession({ transport, env: azureTestEnv(), console: new Console({ stream: process.stderr }), cloud: cloudByName('AzureCloud') });
    expect(await session.isAcr('myacr.azurecr.io')).toBe(true);
    expect(await session.isAcr('myacr.azurecr.io:443')).toBe(true);
    for (const host of ['myacr.azurecr.io.evil.test', 'evilazurecr.io', 'azurecr.io', 'myacr.azurecr.cn', '127.0.0.1:5000']) {
      expect(await session.isAcr(host), host).toBe(false);
    }
    await transport.close();
  });
});

describe('the token exchange', () => {
  it('goes to the ACR\'s own https origin, never to a realm on another host it names', async () => {
    const token = fakeEntraJwt({ tid: 'victim-tenant', oid: 'victim', exp: Math.floor(Date.now() / 1000) + 3600 });
    // The realm: any request it gets is recorded; it refuses everything.
    const realm = await stopAfterAll(
      startHostile((_req, res) => void res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}'), { name: 'realm.evil.test' }),
    );
    const acr = await stopAfterAll(
      startHostile(
        (req, res) => {
          if (req.path === '/oauth2/exchange') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"refresh_token":"acr-refresh-token"}');
          res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm.url}/oauth2/token",service="myacr.azurecr.io"`, 'content-type': 'application/json' });
          res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        },
        { name: 'myacr.azurecr.io' },
      ),
    );
    const caPath = `${acr.caPath}.both.pem`;
    writeFileSync(caPath, `${acr.caPem}\n${realm.caPem}`);
    const env = azureTestEnv({ NODE_EXTRA_CA_CERTS: caPath, TEST_NETWORK_GUARD_HOSTS: 'myacr.azurecr.io=127.0.0.1,realm.evil.test=127.0.0.1' });
    // A password alone for an ACR is an Entra ID access token to exchange (auto mode).
    const r = await cliChild(['-n', open.host, '--source', `${acr.host}/x:v1`, '-p', token], env);
    expectCode(r, 3);
    const exchanges = acr.requests.filter((q) => q.path === '/oauth2/exchange');
    // Once, and once more after the realm refused the refresh token: both at the registry itself.
    expect(exchanges.length).toBeGreaterThan(0);
    for (const e of exchanges) expect(new URLSearchParams(e.body).get('access_token')).toBe(token);
    // The realm got the ACR refresh token over https (allowed), never the Entra ID token.
    expect(realm.requests.length).toBeGreaterThan(0);
    expect(realm.requests.some((q) => q.path.startsWith('/oauth2/exchange'))).toBe(false);
    expect(realm.seen()).not.toContain(token);
    expect(r.stderr).not.toContain(token);
  });

  it('is refused over plain http to a registry off loopback, before anything is sent', async () => {
    const token = fakeEntraJwt({ tid: 't', oid: 'o', exp: Math.floor(Date.now() / 1000) + 3600 });
    let realm = '';
    const plain = await stopAfterAll(
      startHostile((req, res) => {
        if (req.path === '/oauth2/exchange') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"refresh_token":"r"}');
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="plainacr.azurecr.io"` }).end();
      }),
    );
    realm = `http://plainacr.azurecr.io:${plain.port}/oauth2/token`;
    process.env.TEST_NETWORK_GUARD_HOSTS = 'plainacr.azurecr.io=127.0.0.1';
    const host = `plainacr.azurecr.io:${plain.port}`;
    setTokenCredential(new TestCredential({ fixed: token }));
    const repo = uniqueRepo('security/plain-acr');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const r = await cli(['-n', host, '--insecure-registry', host, '--source', `${open.host}/${repo}:v1`]);
    expectCode(r, 3);
    expect(r.stderr).toMatch(/exchanged only over https/);
    expect(plain.requests.some((q) => q.path === '/oauth2/exchange')).toBe(false);
    expect(plain.seen()).not.toContain(token);
  });
});
