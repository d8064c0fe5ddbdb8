// Entra ID sign-in to ACR-like registries through the CLI: an injected TokenCredential (the
// seam), a password-only Entra access token, a null-GUID refresh token, forced auth modes, and
// token renewal during a copy that outlives its tokens.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { setTokenCredential } from '../../src/providers/azure/entra.js';
import { ACR_NULL_GUID, getManifest, pushImage, startAcrOrigin, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { TestCredential, azureTestEnv, cli, expectCode } from './helpers.js';

const acr = inject('acrOrigin');
const open = inject('openRegistry');
const ACR_SCOPE = 'https://containerregistry.azure.net/.default';
const acrAdmin = () => ({ url: acr.url, username: acr.username, password: acr.password });

afterEach(() => setTokenCredential(undefined));

class UnavailableCredential {
  calls = 0;
  async getToken(): Promise<never> {
    this.calls++;
    const err = new Error('DefaultAzureCredential failed to retrieve a token from the included credentials.\nAzureCliCredential: Please run az login.');
    err.name = 'CredentialUnavailableError';
    throw err;
  }
}

describe('Entra ID sign-in with an injected TokenCredential', () => {
  it('copies into an ACR-like registry with --target-auth-mode entra, with one Entra token for the whole copy', async () => {
    const repo = uniqueRepo('azure/entra-target');
    const pushed = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2 });
    const cred = new TestCredential({ fixed: acr.entraToken });
    setTokenCredential(cred, 'Entra ID (test credential)');

    const r = await cli(['-n', acr.host, '--source', `${open.host}/${repo}:v1`, '--target-auth-mode', 'entra', '-o', 'json', '--debug']);
    expectCode(r, 0);
    expect(JSON.parse(r.stdout).sourceDigest).toBe(pushed.digest);
    expect(r.stderr).toMatch(/target credentials: Entra ID \(test credential\)/);
    // Every scope (pull for the checks, pull+push for the copy) came from one cached Entra token.
    expect(cred.calls).toEqual([ACR_SCOPE]);
    expect(r.stderr).not.toContain(acr.entraToken);
    const landed = await getManifest(acrAdmin(), repo, 'v1');
    expect(landed.digest).toBe(pushed.digest);
  });

  it('reads from an ACR-like source with Entra ID', async () => {
    const repo = uniqueRepo('azure/entra-source');
    const pushed = await pushImage(acrAdmin(), repo, 'v1', { kind: 'image' });
    const cred = new TestCredential({ fixed: acr.entraToken });
    setTokenCredential(cred);
    const r = await cli(['-n', open.host, '--source', `${acr.host}/${repo}:v1`, '--source-auth-mode', 'entra', '-o', 'json']);
    expectCode(r, 0);
    expect(JSON.parse(r.stdout).sourceDigest).toBe(pushed.digest);
    expect(cred.calls).toEqual([ACR_SCOPE]);
  });

  it('says how to sign in when no Entra credential is available, as an auth error', async () => {
    const repo = uniqueRepo('azure/no-entra');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const cred = new UnavailableCredential();
    setTokenCredential(cred);
    const r = await cli(['-n', acr.host, '--source', `${open.host}/${repo}:v1`, '--target-auth-mode', 'entra']);
    expectCode(r, 3);
    expect(r.stderr).toMatch(/No Entra ID sign-in is available/);
    expect(r.stderr).toMatch(/az login/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('reports a token the registry refuses at /oauth2/exchange as an auth error', async () => {
    const repo = uniqueRepo('azure/refused');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    setTokenCredential(new TestCredential({ fixed: 'not-an-accepted-token' }));
    const r = await cli(['-n', acr.host, '--source', `${open.host}/${repo}:v1`, '--target-auth-mode', 'entra']);
    expectCode(r, 3);
    expect(r.stderr).toMatch(/refused the Entra ID token .*\/oauth2\/exchange \(HTTP 401/);
    expect(r.stderr).toMatch(/AcrPull|AcrPush/);
  });
});

describe('credentials given for an ACR', () => {
  it('exchanges a password given without a username (an Entra access token), on both sides', async () => {
    const repo = uniqueRepo('azure/password-only');
    const pushed = await pushImage(acrAdmin(), repo, 'v1', { kind: 'image' });
    const cred = new UnavailableCredential();
    setTokenCredential(cred); // must not be asked: the tokens are given
    const r = await cli(['-n', acr.host, '--source', `${acr.host}/${repo}:v1`, '-t', `${repo}-copy:v1`, '-p', acr.entraToken, '--target-password-stdin', '--source-auth-mode', 'entra', '--target-auth-mode', 'entra', '--debug'], {
      stdin: `${acr.entraToken}\n`,
    });
    expectCode(r, 0);
    expect(r.stderr).toMatch(/source credentials: flags \(an Entra ID access token, exchanged\)/);
    expect(r.stderr).toMatch(/target credentials: standard input \(an Entra ID access token, exchanged\)/);
    expect(cred.calls).toBe(0);
    expect((await getManifest(acrAdmin(), `${repo}-copy`, 'v1')).digest).toBe(pushed.digest);
  });

  it('takes the environment variables too, and a refused token fails as auth', async () => {
    const repo = uniqueRepo('azure/password-env');
    await pushImage(acrAdmin(), repo, 'v1', { kind: 'image' });
    const r = await cli(['-n', open.host, '--source', `${acr.host}/${repo}:v1`, '--source-auth-mode', 'entra'], { env: azureTestEnv({ ACR_IMPORT_SOURCE_PASSWORD: 'wrong-token', ACR_IMPORT_SOURCE_REGISTRY: acr.host }) });
    expectCode(r, 3);
    expect(r.stderr).toMatch(/refused the Entra ID token/);
    expect(r.stderr).not.toContain('wrong-token');
  });

  it('uses the null-GUID user with a refresh token (az acr login --expose-token) as it is', async () => {
    const repo = uniqueRepo('azure/null-guid');
    const pushed = await pushImage(acrAdmin(), repo, 'v1', { kind: 'image' });
    const cred = new UnavailableCredential();
    setTokenCredential(cred);
    const r = await cli([
      '-n', acr.host, '--source', `${acr.host}/${repo}:v1`, '-t', `${repo}-copy:v1`,
      '-u', ACR_NULL_GUID, '-p', acr.refreshToken,
      '--target-username', ACR_NULL_GUID, '--target-password', acr.refreshToken,
    ]);
    expectCode(r, 0);
    expect(cred.calls).toBe(0);
    expect((await getManifest(acrAdmin(), `${repo}-copy`, 'v1')).digest).toBe(pushed.digest);
  });

  it('uses admin-user credentials as Basic, without Entra ID', async () => {
    const repo = uniqueRepo('azure/admin');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const cred = new UnavailableCredential();
    setTokenCredential(cred);
    const r = await cli(['-n', acr.host, '--source', `${open.host}/${repo}:v1`, '--target-username', acr.username, '--target-password', acr.password]);
    expectCode(r, 0);
    expect(cred.calls).toBe(0);
  });
});

describe('forced sign-in modes', () => {
  it('--target-auth-mode docker never signs in with Entra ID', async () => {
    const repo = uniqueRepo('azure/mode-docker');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const cred = new TestCredential({ fixed: acr.entraToken });
    setTokenCredential(cred);
    const r = await cli(['-n', acr.host, '--source', `${open.host}/${repo}:v1`, '--target-auth-mode', 'docker']);
    expectCode(r, 3);
    expect(cred.calls).toEqual([]);
  });

  it('--source-auth-mode anonymous refuses credentials, and entra refuses a username', async () => {
    let r = await cli(['-n', open.host, '--source', `${acr.host}/x:v1`, '--source-auth-mode', 'anonymous', '-u', 'a', '-p', 'b']);
    expectCode(r, 2);
    expect(r.stderr).toMatch(/--source-auth-mode anonymous cannot be used with source credentials/);
    r = await cli(['-n', open.host, '--source', `${acr.host}/x:v1`, '--source-auth-mode', 'entra', '-u', 'a', '-p', 'b']);
    expectCode(r, 2);
    expect(r.stderr).toMatch(/entra signs in with Entra ID; a username \(a\)/);
    r = await cli(['-n', open.host, '--source', `${acr.host}/x:v1`, '--source-auth-mode', 'sometimes']);
    expectCode(r, 2);
  });

  it('--target-auth-mode entra signs in to a registry behind a proxy, whose challenge does not look like ACR', async () => {
    const proxy = await stopAfterAll(startProxy({ upstream: acr.url }));
    const repo = uniqueRepo('azure/mode-entra');
    const pushed = await pushImage(open, repo, 'v1', { kind: 'image' });
    const cred = new TestCredential({ fixed: acr.entraToken });
    setTokenCredential(cred);
    // Auto: the proxy's host is not an ACR login server, so no Entra sign-in (and no access).
    let r = await cli(['-n', proxy.host, '--source', `${open.host}/${repo}:v1`]);
    expectCode(r, 3);
    expect(cred.calls).toEqual([]);
    r = await cli(['-n', proxy.host, '--source', `${open.host}/${repo}:v1`, '--target-auth-mode', 'entra']);
    expectCode(r, 0);
    expect(cred.calls).toEqual([ACR_SCOPE]);
    expect((await getManifest(acrAdmin(), repo, 'v1')).digest).toBe(pushed.digest);
  });
});

describe('token renewal', () => {
  it('renews Entra, refresh and access tokens during a copy that outlives them all', async () => {
    // Access tokens live 2 s, refresh tokens 4 s, Entra tokens 3 s; the copy takes well over 6 s
    // (9 small blobs, two at a time with --concurrency 1, each held 1.6 s).
    const origin = await stopAfterAll(startAcrOrigin({ accessTokenTtl: 2, refreshTokenTtl: 4 }));
    const target = await stopAfterAll(startProxy({ upstream: origin.url }));
    const source = await stopAfterAll(
      startProxy({ upstream: open.url, hook: (r) => (r.kind === 'blob' && r.method === 'GET' ? { kind: 'delay', ms: 1600 } : undefined) }),
    );
    const repo = uniqueRepo('azure/renewal');
    const pushed = await pushImage(open, repo, 'v1', { kind: 'image', layers: 8, layerSize: 2048 });
    const cred = new TestCredential({ lifetimeMs: 3000, tenantId: 'tenant-renewal', onToken: (t) => origin.acceptAccessToken(t) });
    setTokenCredential(cred);

    const r = await cli(['-n', target.host, '--source', `${source.host}/${repo}:v1`, '--target-auth-mode', 'entra', '--concurrency', '1', '-o', 'json']);
    expectCode(r, 0);
    expect(r.ms).toBeGreaterThan(6000);
    expect(JSON.parse(r.stdout).sourceDigest).toBe(pushed.digest);

    const exchanges = origin.requests.filter((q) => q.endpoint === 'exchange');
    const tokens = origin.requests.filter((q) => q.endpoint === 'token' && q.status === 200);
    expect(exchanges.length).toBeGreaterThanOrEqual(2);
    expect(exchanges.every((q) => q.status === 200 && q.tenant === 'tenant-renewal' && q.grantType === 'access_token')).toBe(true);
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    expect(cred.calls.length).toBeGreaterThanOrEqual(2);
    // Renewed before expiry: requests carrying a token were (almost) never refused.
    const refused = target.requests.filter((q) => q.status === 401 && q.requestHeaders.authorization);
    expect(refused.length).toBeLessThanOrEqual(1);
    expect((await getManifest({ url: origin.url, username: 'testuser', password: 'testpass' }, repo, 'v1')).digest).toBe(pushed.digest);
  }, 90_000);
});
