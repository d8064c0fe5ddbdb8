// Sovereign clouds: each cloud's authority, scopes, ARM endpoint and login-server suffix; the real
// DefaultAzureCredential signing a service principal in at the chosen cloud's authority (a
// loopback Entra behind HTTPS_PROXY); the cloud `az cloud set` chose; and the exchange falling
// back to the cloud's ARM audience when a registry refuses the ACR audience.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLOUDS, chooseCloud, cloudByName } from '../../src/providers/azure/cloud.js';
import { defaultCredentialOptions, setTokenCredential } from '../../src/providers/azure/entra.js';
import { GUARD_HOSTS_ENV } from '../harness/network-guard.mjs';
import { getManifest, pushImage, startAcrOrigin, stopAfterAll, uniqueRepo, type RunningAcrOrigin } from '../harness/index.js';
import { startFakeEntra, type RunningFakeEntra } from './fake-entra.js';
import { TestCredential, azureTestEnv, cli, cliChild, expectCode } from './helpers.js';

const open = inject('openRegistry');
const CLIENT_ID = 'aaaaaaaa-1111-2222-3333-bbbbbbbbbbbb';
const CLIENT_SECRET = 'sp-secret-value';
const TENANT = 'cccccccc-4444-5555-6666-dddddddddddd';
// A name guessed as <name>.azurecr.cn is then connected to: on loopback, where nothing listens on 443.
process.env[GUARD_HOSTS_ENV] = 'mychinaacr.azurecr.cn=127.0.0.1';

const azConfigDir = (cloudName: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'acr-import-azconfig-'));
  writeFileSync(join(dir, 'config'), `[core]\noutput = json\n\n[cloud]\nname = ${cloudName}\n`);
  return dir;
};

afterEach(() => setTokenCredential(undefined));

describe('Azure clouds', () => {
  it("each cloud's authority, ACR and ARM scopes, ARM endpoint, login-server suffix and storage", () => {
    const table = Object.values(CLOUDS).map((c) => [c.name, c.authorityHost, c.acrScope, c.armScope, c.armEndpoint, c.loginServerSuffix, c.storageSuffix]);
    expect(table).toEqual([
      ['AzureCloud', 'https://login.microsoftonline.com', 'https://containerregistry.azure.net/.default', 'https://management.azure.com/.default', 'https://management.azure.com', '.azurecr.io', '.blob.core.windows.net'],
      ['AzureChinaCloud', 'https://login.chinacloudapi.cn', 'https://containerregistry.azure.net/.default', 'https://management.chinacloudapi.cn/.default', 'https://management.chinacloudapi.cn', '.azurecr.cn', '.blob.core.chinacloudapi.cn'],
      ['AzureUSGovernment', 'https://login.microsoftonline.us', 'https://containerregistry.azure.net/.default', 'https://management.usgovcloudapi.net/.default', 'https://management.usgovcloudapi.net', '.azurecr.us', '.blob.core.usgovcloudapi.net'],
    ]);
    expect(defaultCredentialOptions(cloudByName('AzureChinaCloud'), {})).toEqual({ authorityHost: 'https://login.chinacloudapi.cn' });
    // AZURE_AUTHORITY_HOST, when set, is the user's word over the cloud's.
    expect(defaultCredentialOptions(cloudByName('AzureChinaCloud'), { AZURE_AUTHORITY_HOST: 'https://login.example.test/' })).toEqual({ authorityHost: 'https://login.example.test' });
  });

  it('takes the cloud from --cloud, AZURE_CLOUD, then the Azure CLI ("az cloud set" writes [cloud] name to $AZURE_CONFIG_DIR/config)', () => {
    const usgov = azConfigDir('AzureUSGovernment');
    expect(chooseCloud(undefined, { AZURE_CONFIG_DIR: usgov }).name).toBe('AzureUSGovernment');
    expect(chooseCloud(undefined, { AZURE_CONFIG_DIR: usgov, AZURE_CLOUD_NAME: 'AzureChinaCloud' }).name).toBe('AzureChinaCloud');
    expect(chooseCloud(undefined, { AZURE_CONFIG_DIR: usgov, AZURE_CLOUD: 'AzureCloud' }).name).toBe('AzureCloud');
    expect(chooseCloud('azurechinacloud', { AZURE_CONFIG_DIR: usgov, AZURE_CLOUD: 'AzureCloud' }).name).toBe('AzureChinaCloud');
    expect(chooseCloud(undefined, { AZURE_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'acr-import-azconfig-')) }).name).toBe('AzureCloud');
    expect(() => chooseCloud(undefined, { AZURE_CONFIG_DIR: azConfigDir('MyPrivateCloud') })).toThrow(/Unknown cloud 'MyPrivateCloud' \(the Azure CLI cloud, chosen with `az cloud set`\)/);
  });

  it('names the cloud from az cloud set in the login server of a bare registry name', async () => {
    const r = await cli(['-n', 'mychinaacr', '--source', `${open.host}/none:v1`, '--dry-run', '--retries', '0', '--timeout', '2'], { env: azureTestEnv({ AZURE_CONFIG_DIR: azConfigDir('AzureChinaCloud') }) });
    expect(r.stderr).toMatch(/Registry name 'mychinaacr' is taken as mychinaacr\.azurecr\.cn/);
  });
});

describe('DefaultAzureCredential in sovereign clouds', () => {
  let entra: RunningFakeEntra;
  let origin: RunningAcrOrigin;
  beforeAll(async () => {
    origin = await stopAfterAll(startAcrOrigin());
    entra = await startFakeEntra({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, onToken: (t) => origin.acceptAccessToken(t) });
    return () => entra.stop();
  });

  // A service principal (EnvironmentCredential) exists only in its own cloud's Entra ID.
  const spEnv = (extra: NodeJS.ProcessEnv) =>
    azureTestEnv({
      AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential',
      AZURE_CLIENT_ID: CLIENT_ID,
      AZURE_CLIENT_SECRET: CLIENT_SECRET,
      AZURE_TENANT_ID: TENANT,
      HTTPS_PROXY: entra.proxyUrl,
      NO_PROXY: '127.0.0.1,localhost',
      NODE_EXTRA_CA_CERTS: entra.caPath,
      ...extra,
    });

  // MSAL sends login.chinacloudapi.cn's requests to its preferred alias, login.partner.microsoftonline.cn.
  for (const [how, args, env, authority, reached] of [
    ['--cloud AzureChinaCloud', ['--cloud', 'AzureChinaCloud'], {}, 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn'],
    ['az cloud set AzureUSGovernment', [], { AZURE_CONFIG_DIR: azConfigDir('AzureUSGovernment') }, 'login.microsoftonline.us', 'login.microsoftonline.us'],
  ] as const) {
    it(`signs a service principal in at the cloud's authority (${how} → ${authority})`, async () => {
      const tunnelsBefore = entra.tunnels.length;
      const repo = uniqueRepo('azure/sovereign');
      const pushed = await pushImage(open, repo, 'v1', { kind: 'image' });
      const before = entra.tokenRequests.length;
      const r = await cliChild(['-n', origin.host, '--source', `${open.host}/${repo}:v1`, '--target-auth-mode', 'entra', '--debug', ...args], spEnv(env));
      expectCode(r, 0);
      const asked = entra.tokenRequests.slice(before);
      expect(asked.map((q) => [q.authority, q.tenant, q.scope?.split(' ').find((s) => s.endsWith('/.default'))])).toEqual([[reached, TENANT, 'https://containerregistry.azure.net/.default']]);
      expect(new Set(entra.tunnels.slice(tunnelsBefore))).toEqual(new Set([`${reached}:443`]));
      expect(r.stderr).toContain(`Entra ID (DefaultAzureCredential at ${authority})`);
      expect((await getManifest({ url: origin.url, username: 'testuser', password: 'testpass' }, repo, 'v1')).digest).toBe(pushed.digest);
    });
  }
});

describe('the exchange audience', () => {
  it("falls back to the cloud's ARM audience when the registry refuses the ACR audience (AzureChinaCloud: management.chinacloudapi.cn)", async () => {
    const origin = await stopAfterAll(startAcrOrigin({ refusedAudiences: ['https://containerregistry.azure.net'] }));
    const cred = new TestCredential({ onToken: (t) => origin.acceptAccessToken(t) });
    setTokenCredential(cred);
    const repo = uniqueRepo('azure/audience');
    const pushed = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2 });
    const r = await cli(['-n', origin.host, '--source', `${open.host}/${repo}:v1`, '--cloud', 'AzureChinaCloud', '--target-auth-mode', 'entra', '--debug'], { env: azureTestEnv() });
    expectCode(r, 0);
    expect(cred.calls.at(-1)).toBe('https://management.chinacloudapi.cn/.default');
    expect(new Set(cred.calls.slice(0, -1))).toEqual(new Set(['https://containerregistry.azure.net/.default']));
    const exchanges = origin.requests.filter((q) => q.endpoint === 'exchange').map((q) => q.status);
    expect(exchanges.at(-1)).toBe(200);
    expect(exchanges.slice(0, -1).every((s) => s === 401)).toBe(true);
    expect(r.stderr).toMatch(/refused the Entra ID token; trying one for https:\/\/management\.chinacloudapi\.cn\/\.default/);
    expect((await getManifest({ url: origin.url, username: 'testuser', password: 'testpass' }, repo, 'v1')).digest).toBe(pushed.digest);

    // A registry that refuses both audiences is still an auth error (exit 3) after the one fallback.
    const closed = await stopAfterAll(startAcrOrigin({ refusedAudiences: ['https://containerregistry.azure.net', 'https://management.chinacloudapi.cn'] }));
    setTokenCredential(new TestCredential({ onToken: (t) => closed.acceptAccessToken(t) }));
    const refused = await cli(['-n', closed.host, '--source', `${open.host}/${repo}:v1`, '--cloud', 'AzureChinaCloud', '--target-auth-mode', 'entra'], { env: azureTestEnv() });
    expectCode(refused, 3);
    expect(refused.stderr).toMatch(/refused the Entra ID token/);
    expect(closed.requests.filter((q) => q.endpoint === 'exchange')).toHaveLength(3);
  });
});
