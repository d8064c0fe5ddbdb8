// An ACR source (by its login-server suffix) given no credentials, in auto mode: Entra ID first;
// when no Entra sign-in is available, or the registry refuses the exchange (another tenant), an
// anonymous pull, as `az acr import` does with a registry outside the subscription (it passes it
// as registryUri with no credentials). What was tried is said in --debug, and in the error when
// the anonymous pull is refused too.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getManifest, pushImage, startAcrOrigin, uniqueRepo, type RunningAcrOrigin } from '../harness/index.js';
import { azureTestEnv, cliChild, expectCode, fakeEntraJwt, withPath, writeFakeAz } from '../azure/helpers.js';
import { startNamedTlsFront, type HostileServer } from './hostile.js';

const open = inject('openRegistry');
const NAME = 'anonpull.azurecr.io';

let origin: RunningAcrOrigin;
let front: HostileServer;
let repo: string;
let digest: string;

beforeAll(async () => {
  origin = await startAcrOrigin({ anonymousPull: true });
  front = await startNamedTlsFront(origin.url, NAME);
  repo = uniqueRepo('security/anon-acr');
  digest = (await pushImage({ url: origin.url, username: 'testuser', password: 'testpass' }, repo, 'v1', { kind: 'image' })).digest;
});
afterAll(async () => {
  await front?.stop();
  await origin?.stop();
});

const env = (extra: NodeJS.ProcessEnv = {}) => azureTestEnv({ NODE_EXTRA_CA_CERTS: front.caPath, TEST_NETWORK_GUARD_HOSTS: `${NAME}=127.0.0.1`, ...extra });
/** No `az` on PATH (the machine has none): DefaultAzureCredential, pinned to the Azure CLI leg in tests, has no sign-in. */
const noAz = () => env();

describe('an ACR source with anonymous pull, like az acr import with a registry outside the subscription', () => {
  it('is read anonymously when no Entra ID sign-in is available, and --debug says what was tried', async () => {
    origin.clear();
    const target = `${repo}-no-entra`;
    const r = await cliChild(['-n', open.host, '--source', `${front.host}/${repo}:v1`, '-t', `${target}:v1`, '--debug', '-o', 'json'], noAz());
    expectCode(r, 0);
    expect(JSON.parse(r.stdout).sourceDigest).toBe(digest);
    expect((await getManifest(open, target, 'v1')).digest).toBe(digest);
    expect(r.stderr).toMatch(/Entra ID sign-in to anonpull\.azurecr\.io:\d+ did not succeed \(No Entra ID sign-in is available.*\); trying anonymous pull/);
    expect(origin.requests.filter((q) => q.endpoint === 'exchange')).toEqual([]);
    expect(origin.requests.some((q) => q.endpoint === 'token' && q.credential === 'anonymous' && q.status === 200)).toBe(true);
  });

  it('is read anonymously when the registry refuses the exchange (an identity of another tenant)', async () => {
    origin.clear();
    const az = writeFakeAz();
    const foreign = fakeEntraJwt({ tid: 'another-tenant', oid: 'stranger', exp: Math.floor(Date.now() / 1000) + 3600 });
    const target = `${repo}-other-tenant`;
    const r = await cliChild(['-n', open.host, '--source', `${front.host}/${repo}:v1`, '-t', `${target}:v1`, '--debug'], env({ PATH: withPath(az.dir, process.env), FAKE_AZ_TOKEN: foreign, AZURE_CONFIG_DIR: az.dir }));
    expectCode(r, 0);
    expect((await getManifest(open, target, 'v1')).digest).toBe(digest);
    expect(origin.requests.filter((q) => q.endpoint === 'exchange').map((q) => [q.tenant, q.status])).toContainEqual(['another-tenant', 401]);
    expect(r.stderr).toMatch(/refused the Entra ID token .*; trying anonymous pull/);
    expect(r.stderr).not.toContain(foreign);
  });

  it('without anonymous pull fails as auth, naming both refusals', async () => {
    origin.setAnonymousPull(false);
    try {
      const target = `${repo}-refused`;
      const r = await cliChild(['-n', open.host, '--source', `${front.host}/${repo}:v1`, '-t', `${target}:v1`], noAz());
      expectCode(r, 3);
      expect(r.stderr).toMatch(/Entra ID sign-in .* did not succeed, and anonymous pull was refused too/);
      expect(r.stderr).toMatch(/Entra ID: No Entra ID sign-in is available/);
      expect(r.stderr).toMatch(/Anonymous: Authentication to anonpull\.azurecr\.io:\d+ failed/);
      expect((await getManifest(open, target, 'v1')).status).toBe(404);
    } finally {
      origin.setAnonymousPull(true);
    }
  });

  it('is never a fallback for a target: a push needs the identity', async () => {
    const source = uniqueRepo('security/anon-acr-push');
    await pushImage(open, source, 'v1', { kind: 'image' });
    const r = await cliChild(['-n', front.host, '--source', `${open.host}/${source}:v1`], noAz());
    expectCode(r, 3);
    expect(r.stderr).toMatch(/No Entra ID sign-in is available/);
    expect(r.stderr).not.toMatch(/trying anonymous pull|anonymous pull was refused/);
  });
});
