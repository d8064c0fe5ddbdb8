// ARM through a loopback fake: --registry as a resource ID, bare --name looked up in the
// subscription (paged by nextLink) with its fallbacks, and the server-side engine (importImage
// with its long-running operation, failures, --no-wait, --dry-run).
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { setTokenCredential } from '../../src/providers/azure/entra.js';
import { GUARD_HOSTS_ENV } from '../harness/network-guard.mjs';
import { getManifest, pushImage, uniqueRepo } from '../harness/index.js';
import { registryId, startFakeArm, type FakeRegistry, type RunningFakeArm } from './fake-arm.js';
import { TestCredential, azureTestEnv, cli, expectCode } from './helpers.js';

const acr = inject('acrOrigin');
const open = inject('openRegistry');
const ARM_SCOPE = 'https://management.azure.com/.default';
const ACR_SCOPE = 'https://containerregistry.azure.net/.default';
const SUB = '11111111-2222-3333-4444-555555555555';
// A name taken as <name>.azurecr.io is then connected to: on loopback, where nothing listens on 443.
process.env[GUARD_HOSTS_ENV] = ['someacr', 'missingacr', 'harnessacr'].map((n) => `${n}.azurecr.io=127.0.0.1`).join(',');

// Five registries in the subscription, two per page: the one tests use sits on the last page.
const registries: FakeRegistry[] = [
  { subscription: SUB, resourceGroup: 'rg-a', name: 'firstacr', loginServer: 'firstacr.azurecr.io' },
  { subscription: SUB, resourceGroup: 'rg-a', name: 'secondacr', loginServer: 'secondacr.azurecr.io' },
  { subscription: SUB, resourceGroup: 'rg-b', name: 'thirdacr', loginServer: 'thirdacr-e5fgh2abcd.azurecr.io' },
  { subscription: SUB, resourceGroup: 'rg-b', name: 'fourthacr', loginServer: 'fourthacr.azurecr.io' },
  // A registry whose login server is the harness's ACR-like origin.
  { subscription: SUB, resourceGroup: 'rg-target', name: 'harnessacr', loginServer: acr.host },
];
const harnessAcr = registries[4]!;

let arm: RunningFakeArm;
beforeAll(async () => {
  arm = await startFakeArm({ registries, tokens: [acr.entraToken], pageSize: 2 });
  return () => arm.stop();
});
afterEach(() => {
  setTokenCredential(undefined);
  arm.requests.length = 0;
  arm.imports.length = 0;
});

const env = (extra: NodeJS.ProcessEnv = {}) => azureTestEnv({ ACR_IMPORT_ARM_ENDPOINT: arm.url, ...extra });
const signIn = () => {
  const cred = new TestCredential({ fixed: acr.entraToken });
  setTokenCredential(cred);
  return cred;
};

describe('--registry and --name through ARM', () => {
  it('resolves --registry given as a resource ID to its login server, and strips a repeated login server from --source', async () => {
    const repo = uniqueRepo('azure/arm-resource-id');
    const pushed = await pushImage({ url: acr.url, username: acr.username, password: acr.password }, repo, 'v1', { kind: 'image' });
    const cred = signIn();
    const r = await cli(['-n', open.host, '-r', registryId(harnessAcr), '--source', `${acr.host}/${repo}:v1`, '-o', 'json'], { env: env() });
    expectCode(r, 0);
    expect(JSON.parse(r.stdout).sourceDigest).toBe(pushed.digest);
    expect(r.stderr).toMatch(/login server '.*' is repeated in --source/);
    expect(arm.requests.map((q) => q.path)).toEqual([`${registryId(harnessAcr)}?api-version=2025-04-01`]);
    expect(cred.calls).toEqual([ARM_SCOPE, ACR_SCOPE]);
  });

  it('refuses a malformed resource ID and reports an unknown one as not found', async () => {
    signIn();
    let r = await cli(['-n', open.host, '-r', '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z', '--source', 'a:1'], { env: env() });
    expectCode(r, 2);
    expect(r.stderr).toMatch(/is not a container registry resource ID/);
    r = await cli(['-n', open.host, '-r', `/subscriptions/${SUB}/resourceGroups/rg-a/providers/Microsoft.ContainerRegistry/registries/nosuchacr`, '--source', 'a:1'], { env: env() });
    expectCode(r, 4);
    expect(r.stderr).toMatch(/ResourceNotFound/);
  });

  it('finds a bare --name in the subscription, following nextLink pages, and copies to its real login server', async () => {
    const repo = uniqueRepo('azure/arm-name');
    const pushed = await pushImage(open, repo, 'v1', { kind: 'image' });
    signIn();
    const r = await cli(['-n', 'harnessacr', '--subscription', SUB, '--source', `${open.host}/${repo}:v1`, '-o', 'json', '--debug'], { env: env() });
    expectCode(r, 0);
    expect(JSON.parse(r.stdout).target).toBe(acr.host);
    expect(r.stderr).not.toMatch(/Warning/);
    const pages = arm.requests.filter((q) => q.path.includes('/providers/Microsoft.ContainerRegistry/registries?'));
    expect(pages.map((q) => q.path.match(/skiptoken=(\d+)/)?.[1] ?? '0')).toEqual(['0', '2', '4']);
    expect((await getManifest({ url: acr.url, username: acr.username, password: acr.password }, repo, 'v1')).digest).toBe(pushed.digest);
  });

  it('with -g reads the registry from ARM and copies to its login server (hashed by a domain-name-label scope, or any other), not <name>.azurecr.io', async () => {
    const repo = uniqueRepo('azure/arm-group');
    const pushed = await pushImage(open, repo, 'v1', { kind: 'image' });
    signIn();
    const r = await cli(['-n', 'harnessacr', '-g', 'rg-target', '--subscription', SUB, '--source', `${open.host}/${repo}:v1`, '-o', 'json'], { env: env() });
    expectCode(r, 0);
    expect(JSON.parse(r.stdout).target).toBe(acr.host);
    expect(arm.requests.map((q) => `${q.method} ${q.path}`)).toEqual([`GET ${registryId(harnessAcr)}?api-version=2025-04-01`]);
    expect((await getManifest({ url: acr.url, username: acr.username, password: acr.password }, repo, 'v1')).digest).toBe(pushed.digest);

    // A name that is not in that group is an error, not a guess.
    const wrong = await cli(['-n', 'harnessacr', '-g', 'rg-a', '--subscription', SUB, '--source', `${open.host}/${repo}:v1`], { env: env() });
    expectCode(wrong, 4);
    expect(wrong.stderr).toMatch(/ResourceNotFound/);
  });

  it('takes the subscription from AZURE_SUBSCRIPTION_ID, or from the Azure CLI profile', async () => {
    signIn();
    const r = await cli(['-n', 'harnessacr', '--source', `${open.host}/none:v1`, '--dry-run', '--debug'], { env: env({ AZURE_SUBSCRIPTION_ID: SUB }) });
    expect(r.stderr).toMatch(new RegExp(`harnessacr' is .*registries/harnessacr with login server ${acr.host.replace(/\./g, '\\.')} \\(from AZURE_SUBSCRIPTION_ID\\)`));
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'acr-import-azprofile-'));
    writeFileSync(join(dir, 'azureProfile.json'), `\uFEFF${JSON.stringify({ subscriptions: [{ id: 'other', isDefault: false }, { id: SUB, isDefault: true, environmentName: 'AzureCloud' }] })}`);
    const r2 = await cli(['-n', 'harnessacr', '--source', `${open.host}/none:v1`, '--dry-run', '--debug'], { env: env({ AZURE_CONFIG_DIR: dir }) });
    expect(r2.stderr).toMatch(/from the Azure CLI default subscription/);
  });

  it('falls back to <name>.azurecr.io at once, with a warning, when no subscription is known', async () => {
    const cred = signIn();
    setTokenCredential(undefined); // nothing "evidently configured"
    const r = await cli(['-n', 'someacr', '--source', `${open.host}/none:v1`, '--dry-run', '--retries', '1', '--timeout', '2'], { env: env() });
    expect(r.stderr).toMatch(/Registry name 'someacr' is taken as someacr\.azurecr\.io without asking Azure \(no subscription/);
    expect(arm.requests).toHaveLength(0);
    expect(cred.calls).toHaveLength(0);
  });

  it('falls back with a warning when the name is not in the subscription, ARM refuses, or ARM is too slow', async () => {
    signIn();
    let r = await cli(['-n', 'missingacr', '--subscription', SUB, '--source', `${open.host}/none:v1`, '--dry-run', '--retries', '1', '--timeout', '2'], { env: env() });
    expect(r.stderr).toMatch(new RegExp(`'missingacr' is taken as missingacr\\.azurecr\\.io: there is no registry 'missingacr' in subscription ${SUB}`));

    setTokenCredential(new TestCredential({ fixed: 'a-token-arm-refuses' }));
    r = await cli(['-n', 'harnessacr', '--subscription', SUB, '--source', `${open.host}/none:v1`, '--dry-run', '--retries', '1', '--timeout', '2'], { env: env() });
    expect(r.stderr).toMatch(/'harnessacr' is taken as harnessacr\.azurecr\.io: looking it up in Azure failed \(ARM answered HTTP 401 .*AuthenticationFailed/);

    const slow = await startFakeArm({ registries, tokens: [acr.entraToken], delayMs: 5000 });
    try {
      signIn();
      r = await cli(['-n', 'harnessacr', '--subscription', SUB, '--source', `${open.host}/none:v1`, '--dry-run', '--retries', '1', '--timeout', '2'], {
        env: azureTestEnv({ ACR_IMPORT_ARM_ENDPOINT: slow.url, ACR_IMPORT_ARM_LOOKUP_TIMEOUT: '0.5' }),
      });
      expect(r.stderr).toMatch(/looking it up in Azure failed \(no answer in 0\.5 s\)/);
      expect(r.ms).toBeLessThan(4000);
    } finally {
      await slow.stop();
    }
  });
});

describe('--server-side', () => {
  const base = ['--server-side', '--subscription', SUB, '-o', 'json'];

  it('finds the registry in the subscription without -g, posts importImage and polls the operation to success', async () => {
    signIn();
    arm.setImportBehaviour({ kind: 'async', polls: 2, retryAfter: 0 });
    const r = await cli([...base, '-n', 'harnessacr', '--source', 'mcr.microsoft.com/hello-world:latest'], { env: env() });
    expectCode(r, 0);
    expect(arm.imports).toEqual([
      {
        registryId: registryId(harnessAcr),
        body: { source: { registryUri: 'mcr.microsoft.com', sourceImage: 'hello-world:latest' }, targetTags: ['hello-world:latest'], mode: 'NoForce' },
      },
    ]);
    const post = arm.requests.find((q) => q.method === 'POST')!;
    expect(post.path).toBe(`${registryId(harnessAcr)}/importImage?api-version=2025-04-01`);
    // Azure-AsyncOperation is preferred over Location: three polls, the last one "Succeeded".
    expect(arm.requests.filter((q) => q.path.startsWith('/operations/'))).toHaveLength(3);
    expect(arm.requests.filter((q) => q.path.includes('location=1'))).toHaveLength(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ engine: 'server-side', status: 'Succeeded', target: acr.host, registryId: registryId(harnessAcr), mode: 'NoForce' });
    expect(out.operation).toMatch(/\/operations\/\d+/);
  });

  it('--registry <resource ID> goes as source.resourceId, neither looked up nor with credentials (az: "ImportSource(resource_id=source_registry, source_image=source_image)"); -g reads the hashed login server', async () => {
    signIn();
    arm.setImportBehaviour({ kind: 'sync' });
    // A registry outside the subscription the identity may not even read: az does not look it up, nor do we.
    const source = `/subscriptions/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}/resourceGroups/elsewhere/providers/Microsoft.ContainerRegistry/registries/faracr`;
    const r = await cli(
      [...base, '-n', 'thirdacr', '-g', 'rg-b', '-r', source, '--source', 'faracr-x1y2.azurecr.io/team/app@sha256:' + 'a'.repeat(64), '-t', 'app:1', '-t', 'app:latest', '--repository', 'app-archive', '--force', '-u', 'puller', '-p', 's3cret'],
      { env: env() },
    );
    expectCode(r, 0);
    // One GET of the target (its login server is hashed), then the import: no listing, no source lookup.
    expect(arm.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      `GET ${registryId(registries[2]!)}?api-version=2025-04-01`,
      `POST ${registryId(registries[2]!)}/importImage?api-version=2025-04-01`,
    ]);
    expect(arm.imports[0]).toEqual({
      registryId: registryId(registries[2]!),
      body: {
        source: { resourceId: source, sourceImage: `team/app@sha256:${'a'.repeat(64)}` },
        targetTags: ['app:1', 'app:latest'],
        untaggedTargetRepositories: ['app-archive'],
        mode: 'Force',
      },
    });
    expect(r.stderr).toMatch(/login server 'faracr-x1y2\.azurecr\.io' is repeated in --source/);
    expect(r.stderr).toMatch(/source credentials are not sent: with --registry, ACR reads the source registry by its resource ID/);
    expect(r.stdout + r.stderr).not.toContain('s3cret');
    const out = JSON.parse(r.stdout);
    expect(out.target).toBe('thirdacr-e5fgh2abcd.azurecr.io');
    expect(out.source).toBe(`team/app@sha256:${'a'.repeat(64)} in ${source}`);
  });

  it('an unknown --registry name stops before anything is imported (az: "The source container registry can not be found in the current subscription")', async () => {
    signIn();
    arm.setImportBehaviour({ kind: 'sync' });
    const r = await cli([...base, '-n', 'harnessacr', '-r', 'nosuchacr', '--source', 'team/app:1'], { env: env() });
    expectCode(r, 4);
    expect(r.stderr).toMatch(new RegExp(`The source container registry 'nosuchacr' can not be found in subscription ${SUB}`));
    expect(r.stderr).toMatch(/Give --registry its resource ID/);
    expect(arm.imports).toHaveLength(0);

    // A known name (or its login server) goes by its resource ID.
    const ok = await cli([...base, '-n', 'harnessacr', '-r', 'thirdacr-e5fgh2abcd.azurecr.io', '--source', 'team/app:1'], { env: env() });
    expectCode(ok, 0);
    expect((arm.imports[0]!.body as { source: unknown }).source).toEqual({ resourceId: registryId(registries[2]!), sourceImage: 'team/app:1' });
  });

  it('a digest source with no -t is imported as repo:latest (az sends "target_tags = [source_image[:index]]", which ACR tags latest)', async () => {
    signIn();
    arm.setImportBehaviour({ kind: 'sync' });
    const r = await cli([...base, '-n', 'harnessacr', '--source', `mcr.microsoft.com/hello-world@sha256:${'b'.repeat(64)}`], { env: env() });
    expectCode(r, 0);
    expect(arm.imports[0]!.body).toMatchObject({ source: { registryUri: 'mcr.microsoft.com', sourceImage: `hello-world@sha256:${'b'.repeat(64)}` }, targetTags: ['hello-world:latest'] });
  });

  it('sends a password alone as an access token, and follows Location with Retry-After when there is no Azure-AsyncOperation', async () => {
    signIn();
    arm.setImportBehaviour({ kind: 'location', polls: 1, retryAfter: 1 });
    const r = await cli([...base, '-n', `/subscriptions/${SUB}/resourceGroups/rg-a/providers/Microsoft.ContainerRegistry/registries/secondacr`, '--source', 'ghcr.io/org/tool:2', '--password-stdin'], {
      env: env(),
      stdin: 'token-xyz\n',
    });
    expectCode(r, 0);
    expect((arm.imports[0]!.body as { source: unknown }).source).toEqual({ registryUri: 'ghcr.io', credentials: { password: 'token-xyz' }, sourceImage: 'org/tool:2' });
    const polls = arm.requests.filter((q) => q.path.startsWith('/operations/'));
    expect(polls).toHaveLength(2);
    const post = arm.requests.find((q) => q.method === 'POST')!;
    expect(polls[0]!.time - post.time).toBeGreaterThanOrEqual(900);
    expect(polls[1]!.time - polls[0]!.time).toBeGreaterThanOrEqual(900);
  });

  it('reports a failed operation with its code and message, as the right kind of error', async () => {
    signIn();
    arm.setImportBehaviour({ kind: 'async', polls: 1, retryAfter: 0, failure: { code: 'InvalidParameters', message: 'Operation registries-import failed. Tag hello-world:latest already exists in target registry.' } });
    let r = await cli([...base, '-n', 'harnessacr', '--source', 'mcr.microsoft.com/hello-world:latest'], { env: env() });
    expectCode(r, 6);
    expect(r.stderr).toMatch(/failed: InvalidParameters: Operation registries-import failed\. Tag hello-world:latest already exists in target registry\./);
    expect(r.stderr).toMatch(/--force/);

    arm.setImportBehaviour({ kind: 'async', polls: 0, retryAfter: 0, failure: { code: 'InvalidParameters', message: "Source image mcr.microsoft.com/nope:latest not found." } });
    r = await cli([...base, '-n', 'harnessacr', '--source', 'mcr.microsoft.com/nope:latest'], { env: env() });
    expectCode(r, 4);

    arm.setImportBehaviour({ kind: 'error', status: 403, code: 'AuthorizationFailed', message: "The client does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/importImage/action'." });
    r = await cli([...base, '-n', 'harnessacr', '--source', 'mcr.microsoft.com/hello-world:latest'], { env: env() });
    expectCode(r, 3);
    expect(r.stderr).toMatch(/AuthorizationFailed/);
  });

  it('names an ACR source of the subscription by its resource ID, as az does, when no credentials are given', async () => {
    signIn();
    arm.setImportBehaviour({ kind: 'sync' });
    const r = await cli([...base, '-n', 'harnessacr', '--source', 'secondacr.azurecr.io/team/app:1', '-t', 'app:1'], { env: env() });
    expectCode(r, 0);
    expect((arm.imports[0]!.body as { source: unknown }).source).toEqual({ resourceId: registryId(registries[1]!), sourceImage: 'team/app:1' });
    // The subscription's registry list was read once for both registries.
    expect(arm.requests.filter((q) => q.path.includes('/providers/Microsoft.ContainerRegistry/registries?') && !q.path.includes('skiptoken'))).toHaveLength(1);
  });

  it('--no-wait returns once the import is queued', async () => {
    signIn();
    arm.setImportBehaviour({ kind: 'async', polls: 5, retryAfter: 0 });
    const r = await cli([...base, '-n', 'harnessacr', '--source', 'nginx', '--no-wait'], { env: env() });
    expectCode(r, 0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'Queued', targetTags: ['library/nginx:latest'] });
    expect((arm.imports[0]!.body as { source: unknown }).source).toEqual({ registryUri: 'docker.io', sourceImage: 'library/nginx:latest' });
    expect(arm.requests.filter((q) => q.path.startsWith('/operations/'))).toHaveLength(0);
  });

  it('--dry-run prints the request with the password redacted and posts nothing', async () => {
    signIn();
    const r = await cli(['--server-side', '--subscription', SUB, '-g', 'rg-target', '-n', 'harnessacr', '--source', 'ghcr.io/org/tool:2', '-u', 'bot', '-p', 'p4ssw0rd', '--dry-run'], { env: env() });
    expectCode(r, 0);
    expect(r.stdout).toContain(`POST ${arm.url}${registryId(harnessAcr)}/importImage?api-version=2025-04-01`);
    expect(r.stdout).toContain('"password": "***"');
    expect(r.stdout).toContain('"username": "bot"');
    expect(r.stdout + r.stderr).not.toContain('p4ssw0rd');
    // With -g the target is read (for its login server); nothing is posted.
    expect(arm.requests.map((q) => q.method)).toEqual(['GET']);
  });

  it('needs a subscription, and refuses flags that do not apply', async () => {
    signIn();
    let r = await cli(['--server-side', '-n', 'harnessacr', '--source', 'nginx'], { env: env() });
    expectCode(r, 2);
    expect(r.stderr).toMatch(/needs the subscription/);
    r = await cli([...base, '-n', 'harnessacr', '--source', 'nginx', '--target-username', 'u', '--target-password', 'p'], { env: env() });
    expectCode(r, 2);
    r = await cli([...base, '-n', 'harnessacr', '--source', 'nginx', '--lock', '--no-wait'], { env: env() });
    expectCode(r, 2);
    expect(arm.imports).toHaveLength(0);
  });
});
