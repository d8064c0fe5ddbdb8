// The Azure pieces that need no server: resource IDs, clouds, the Entra token cache, ARM error
// kinds, redaction of the importImage body, argument parsing and output.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exchangeUrl } from '../../src/providers/azure/acr-exchange.js';
import { armErrorKind, parseRegistryResourceId, registryResourceId } from '../../src/providers/azure/arm.js';
import { armEndpointFor, cloudByName, isAcrLoginServerIn } from '../../src/providers/azure/cloud.js';
import { EntraTokens, entraError, entraEvidentlyConfigured, staticTokenCredential, tenantOf, type AccessTokenLike } from '../../src/providers/azure/entra.js';
import { redactBody } from '../../src/commands/import-server-side.js';
import { formatTable, parseRepositoryArg } from '../../src/commands/show-manifests.js';
import { AcrImportError } from '../../src/errors.js';
import { ROOT, cli, fakeEntraJwt } from './helpers.js';

describe('resource IDs and clouds', () => {
  it('parses registry resource IDs, and nothing else', () => {
    const id = '/subscriptions/sub-1/resourceGroups/My-RG/providers/Microsoft.ContainerRegistry/registries/myacr';
    expect(parseRegistryResourceId(id)).toEqual({ subscription: 'sub-1', resourceGroup: 'My-RG', name: 'myacr', id });
    expect(parseRegistryResourceId(`${id.slice(1)}/`)?.id).toBe(id);
    expect(parseRegistryResourceId(id.replace('Microsoft.ContainerRegistry', 'microsoft.containerregistry'))?.name).toBe('myacr');
    expect(parseRegistryResourceId('/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/x')).toBeUndefined();
    expect(parseRegistryResourceId('myacr')).toBeUndefined();
    expect(registryResourceId('s', 'g', 'n')).toBe('/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/n');
  });

  it('knows each cloud: ARM endpoint (overridable), scopes and login-server suffix', () => {
    const china = cloudByName('AzureChinaCloud');
    expect(armEndpointFor(china, {})).toBe('https://management.chinacloudapi.cn');
    expect(china.armScope).toBe('https://management.chinacloudapi.cn/.default');
    expect(armEndpointFor(china, { ACR_IMPORT_ARM_ENDPOINT: 'http://127.0.0.1:9/' })).toBe('http://127.0.0.1:9');
    expect(() => armEndpointFor(china, { ACR_IMPORT_ARM_ENDPOINT: 'not a url' })).toThrow(/not a URL/);
    expect(cloudByName(undefined).acrScope).toBe('https://containerregistry.azure.net/.default');
    expect(isAcrLoginServerIn(cloudByName('AzureCloud'), 'myacr.azurecr.io')).toBe(true);
    expect(isAcrLoginServerIn(cloudByName('AzureCloud'), 'MyAcr-abc123.AzureCR.io:443')).toBe(true);
    expect(isAcrLoginServerIn(cloudByName('AzureCloud'), 'myacr.azurecr.cn')).toBe(false);
    expect(isAcrLoginServerIn(cloudByName('AzureUSGovernment'), 'myacr.azurecr.us')).toBe(true);
    expect(isAcrLoginServerIn(cloudByName('AzureCloud'), 'ghcr.io')).toBe(false);
  });

  it('puts /oauth2/exchange on the registry itself, over https or on loopback only', () => {
    expect(exchangeUrl('https://myacr.azurecr.io', 'myacr.azurecr.io')).toBe('https://myacr.azurecr.io/oauth2/exchange');
    expect(exchangeUrl('http://127.0.0.1:5000', '127.0.0.1:5000')).toBe('http://127.0.0.1:5000/oauth2/exchange');
    expect(() => exchangeUrl('http://reg.example.com', 'reg.example.com')).toThrow(/exchanged only over https/);
  });
});

describe('Entra ID tokens', () => {
  class CountingCredential {
    calls: string[] = [];
    constructor(private readonly lifetimeMs: number, private readonly delayMs = 0) {}
    async getToken(scopes: string | string[]): Promise<AccessTokenLike> {
      const scope = Array.isArray(scopes) ? scopes[0]! : scopes;
      this.calls.push(scope);
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      return { token: fakeEntraJwt({ tid: 't1', n: this.calls.length }), expiresOnTimestamp: Date.now() + this.lifetimeMs };
    }
  }

  it('caches a token per scope, shares one request between concurrent callers, and renews it before it expires', async () => {
    const cred = new CountingCredential(400, 20);
    const tokens = new EntraTokens('test', async () => cred);
    const [a, b] = await Promise.all([tokens.getToken('s1'), tokens.getToken('s1')]);
    expect(a.token).toBe(b.token);
    expect(a.tenantId).toBe('t1');
    await tokens.getToken('s2');
    expect(cred.calls).toEqual(['s1', 's2']);
    expect((await tokens.getToken('s1')).token).toBe(a.token);
    // A quarter of the lifetime before expiry, the token is renewed.
    await new Promise((r) => setTimeout(r, 320));
    const renewed = await tokens.getToken('s1');
    expect(renewed.token).not.toBe(a.token);
    expect(cred.calls).toEqual(['s1', 's2', 's1']);
    expect((await tokens.getToken('s1', { forceRefresh: true })).token).not.toBe(renewed.token);
  });

  it('keeps an hour-long token for most of the hour (renewing 5 minutes early), and as a TokenCredential', async () => {
    const cred = new CountingCredential(3600_000);
    const tokens = new EntraTokens('test', async () => cred);
    const tc = tokens.asTokenCredential();
    const t1 = await tc.getToken(['https://containerregistry.azure.net/.default']);
    const t2 = await tc.getToken('https://containerregistry.azure.net/.default');
    expect(t1!.token).toBe(t2!.token);
    expect(cred.calls).toHaveLength(1);
  });

  it('turns credential failures into auth errors with a hint, and lets a later call try again', async () => {
    let fail = true;
    const tokens = new EntraTokens('Entra ID (x)', async () => ({
      getToken: async () => {
        if (fail) {
          const e = new Error('EnvironmentCredential is unavailable.\nManagedIdentityCredential: no response');
          e.name = 'AggregateAuthenticationError';
          throw e;
        }
        return { token: 'ok', expiresOnTimestamp: Date.now() + 3600_000 };
      },
    }));
    const err = await tokens.getToken('s').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AcrImportError);
    expect((err as AcrImportError).kind).toBe('auth');
    expect((err as AcrImportError).message).toMatch(/No Entra ID sign-in is available \(Entra ID \(x\), scope s\)/);
    expect((err as AcrImportError).hint).toMatch(/az login/);
    fail = false;
    expect((await tokens.getToken('s')).token).toBe('ok');
    expect(entraError(Object.assign(new Error('AADSTS700016: app not found'), { name: 'AuthenticationError' }), 'd', 's').message).toMatch(/sign-in failed .*AADSTS700016/);
  });

  it('reads the tenant of a token, and treats a fixed token as valid until its exp', async () => {
    expect(tenantOf(fakeEntraJwt({ tid: 'abc' }))).toBe('abc');
    expect(tenantOf('opaque')).toBeUndefined();
    const exp = Math.floor(Date.now() / 1000) + 120;
    const t = await staticTokenCredential(fakeEntraJwt({ exp })).getToken('x');
    expect(t!.expiresOnTimestamp).toBe(exp * 1000);
  });

  it('sees Entra sign-in configured from a service principal, workload or managed identity in the environment', () => {
    expect(entraEvidentlyConfigured({})).toBe(false);
    expect(entraEvidentlyConfigured({ AZURE_CLIENT_ID: 'a', AZURE_TENANT_ID: 'b', AZURE_CLIENT_SECRET: 'c' })).toBe(true);
    expect(entraEvidentlyConfigured({ AZURE_CLIENT_ID: 'a', AZURE_TENANT_ID: 'b', AZURE_FEDERATED_TOKEN_FILE: '/f' })).toBe(true);
    expect(entraEvidentlyConfigured({ AZURE_CLIENT_ID: 'a' })).toBe(false);
    expect(entraEvidentlyConfigured({ IDENTITY_ENDPOINT: 'http://x' })).toBe(true);
  });
});

describe('server-side details', () => {
  it('maps ARM and import failures to error kinds', () => {
    expect(armErrorKind(200, 'InvalidParameters', 'Tag a:1 already exists in target registry.')).toBe('conflict');
    expect(armErrorKind(403, 'AuthorizationFailed', 'no')).toBe('auth');
    expect(armErrorKind(200, 'InvalidParameters', 'The source image docker.io/x:1 was not found')).toBe('not-found');
    expect(armErrorKind(404, 'ResourceNotFound', '')).toBe('not-found');
    expect(armErrorKind(200, 'InvalidParameters', 'The image has 60 manifests, which exceeds the limit of 50.')).toBe('limit');
    expect(armErrorKind(503, 'ServiceUnavailable', '')).toBe('transient');
    expect(armErrorKind(400, 'InvalidParameters', 'Bad source image format.')).toBe('usage');
    expect(armErrorKind(200, 'Weird', 'Something happened.')).toBe('internal');
  });

  it('redacts the password of the source credentials, and only it', () => {
    const body = { source: { registryUri: 'ghcr.io', credentials: { username: 'u', password: 'secret' }, sourceImage: 'a:1' }, targetTags: ['a:1'], mode: 'NoForce' as const };
    expect(redactBody(body)).toEqual({ ...body, source: { ...body.source, credentials: { username: 'u', password: '***' } } });
    expect(body.source.credentials.password).toBe('secret');
    const noCreds = { source: { registryUri: 'ghcr.io', sourceImage: 'a:1' }, mode: 'Force' as const };
    expect(redactBody(noCreds)).toEqual(noCreds);
  });
});

describe('show-manifests arguments and table', () => {
  it('parses repository, repository:tag and repository@digest', () => {
    expect(parseRepositoryArg('team/app')).toEqual({ repository: 'team/app' });
    expect(parseRepositoryArg('team/app:1.0')).toEqual({ repository: 'team/app', reference: '1.0' });
    const d = `sha256:${'b'.repeat(64)}`;
    expect(parseRepositoryArg(`team/app@${d}`)).toEqual({ repository: 'team/app', reference: d });
    expect(() => parseRepositoryArg('Team/App')).toThrow(AcrImportError);
    expect(() => parseRepositoryArg('app@sha256:short')).toThrow(/digest/);
  });

  it('prints aligned columns, children indented under their index', () => {
    const table = formatTable([
      { digest: 'sha256:aaa', tags: ['v1', 'latest'], size: 512, references: [{ digest: 'sha256:bbb' }], createdTime: '2026-01-01T00:00:00.000Z' },
      { digest: 'sha256:bbb', tags: [], size: 2048, platform: 'linux/amd64', parent: 'sha256:aaa' },
    ]);
    expect(table.split('\n')).toEqual([
      'DIGEST        PLATFORM     SIZE     TAGS        CREATED',
      'sha256:aaa    index of 1   512 B    v1, latest  2026-01-01T00:00:00.000Z',
      '  sha256:bbb  linux/amd64  2.0 KiB  -           -',
      '',
    ]);
  });
});

describe('the command line', () => {
  it('shows the Azure flags and the show-manifests command in --help', async () => {
    const r = await cli(['import', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--server-side', '--resource-group', '--subscription', '--source-auth-mode', '--target-auth-mode', '--lock']) expect(r.stdout).toContain(flag);
    const top = await cli(['--help']);
    expect(top.stdout).toMatch(/show-manifests/);
    const show = await cli(['show-manifests', '--help']);
    expect(show.stdout).toMatch(/<registry> <repository>/);
  });

  it('loads the Azure SDKs only with dynamic imports (start-up time of --help)', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name.endsWith('.ts')) files.push(join(dir, e.name));
      }
    };
    walk(join(ROOT, 'src'));
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const staticImports = [...text.matchAll(/^import\s+(?!type\b)[^;]*from\s+'(@azure\/[^']+)'/gm)].map((m) => m[1]);
      expect(staticImports, f).toEqual([]);
    }
  });
});
