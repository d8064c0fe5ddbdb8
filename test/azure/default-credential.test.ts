// Entra ID sign-in through the real DefaultAzureCredential of @azure/identity, whose Azure CLI
// leg runs a fake `az` on PATH (as `az account get-access-token --output json` answers). The
// credential reads process.env, so this file sets PATH and clears the AZURE_* variables for
// itself (each test file runs in its own process) and puts them back afterwards.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { getManifest, pushImage, startAcrOrigin, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { azureTestEnv, cli, expectCode, fakeEntraJwt, withPath, writeFakeAz } from './helpers.js';

const open = inject('openRegistry');
let saved: NodeJS.ProcessEnv;

beforeEach(() => {
  saved = { ...process.env };
  // No other leg of the chain may answer: no service principal, workload or managed identity.
  for (const k of Object.keys(process.env)) if (/^AZURE_(?!TOKEN_CREDENTIALS$)|^IDENTITY_|^MSI_/.test(k)) delete process.env[k];
});
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe('DefaultAzureCredential', () => {
  it('signs in with the Azure CLI leg: runs az once for the whole copy and passes the tenant of the token on', async () => {
    const origin = await stopAfterAll(startAcrOrigin());
    const token = fakeEntraJwt({ tid: 'tenant-from-az', oid: 'user-1', exp: Math.floor(Date.now() / 1000) + 3600 });
    origin.acceptAccessToken(token);
    const az = writeFakeAz();
    process.env.PATH = withPath(az.dir, process.env);
    process.env.FAKE_AZ_TOKEN = token;
    process.env.AZURE_CONFIG_DIR = az.dir;

    const repo = uniqueRepo('azure/dac');
    const pushed = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2 });
    const r = await cli(['-n', origin.host, '--target-auth-mode', 'entra', '--source', `${open.host}/${repo}:v1`, '--debug'], { env: azureTestEnv({ PATH: process.env.PATH }) });
    expectCode(r, 0);
    expect(r.stderr).toMatch(/target credentials: Entra ID \(DefaultAzureCredential\)/);
    expect(az.calls()).toEqual(['account get-access-token --output json --resource https://containerregistry.azure.net']);
    const exchanges = origin.requests.filter((q) => q.endpoint === 'exchange');
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]).toMatchObject({ status: 200, tenant: 'tenant-from-az', service: origin.host, grantType: 'access_token' });
    expect((await getManifest({ url: origin.url, username: 'testuser', password: 'testpass' }, repo, 'v1')).digest).toBe(pushed.digest);
    // Offline, the managed-identity probe fails at once: the whole copy stays quick.
    expect(r.ms).toBeLessThan(15_000);
  });

  it('fails quickly, as an auth error that says what to do, when nothing can sign in', async () => {
    const origin = await stopAfterAll(startAcrOrigin());
    const az = writeFakeAz();
    // An az that is "not logged in", the way the real one says it.
    process.env.PATH = withPath(az.dir, process.env);
    process.env.FAKE_AZ_TOKEN = '';
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${az.dir}/az`, "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n");
    const repo = uniqueRepo('azure/dac-none');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const r = await cli(['-n', origin.host, '--target-auth-mode', 'entra', '--source', `${open.host}/${repo}:v1`], { env: azureTestEnv({ PATH: process.env.PATH }) });
    expectCode(r, 3);
    expect(r.stderr).toMatch(/No Entra ID sign-in is available/);
    expect(r.stderr).toMatch(/az login/);
    expect(r.ms).toBeLessThan(15_000);
  });
});
