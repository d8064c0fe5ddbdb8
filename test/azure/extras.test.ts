// ACR extras through @azure/container-registry against an https ACR-like front with a fake of
// ACR's metadata API: `show-manifests` and `--lock`. The SDK refuses plain http, and Node reads
// NODE_EXTRA_CA_CERTS only at start, so those runs use a child process (signed in through
// DefaultAzureCredential and a fake `az`). Refusals and the non-ACR manifest walk run in-process.
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { setTokenCredential } from '../../src/providers/azure/entra.js';
import { getManifest, pushImage, startAcrOrigin, uniqueRepo, type PushResult, type RunningAcrOrigin } from '../harness/index.js';
import { startAcrTlsFront, type RunningAcrTlsFront } from './acr-tls-front.js';
import { registryId, startFakeArm, type RunningFakeArm } from './fake-arm.js';
import { TestCredential, azureTestEnv, cli, cliChild, expectCode, fakeEntraJwt, withPath, writeFakeAz } from './helpers.js';

const open = inject('openRegistry');
const acr = inject('acrOrigin');
const SUB = '99999999-8888-7777-6666-555555555555';

interface Row {
  digest: string;
  platform?: string;
  size?: number;
  tags: string[];
  createdTime?: string;
  references?: { digest: string; platform?: string }[];
  parent?: string;
  canWrite?: boolean;
  canDelete?: boolean;
}

let origin: RunningAcrOrigin;
let front: RunningAcrTlsFront;
let arm: RunningFakeArm;
let az: ReturnType<typeof writeFakeAz>;
let token: string;
let childEnv: NodeJS.ProcessEnv;
const originAdmin = () => ({ url: origin.url, username: 'testuser', password: 'testpass' });

beforeAll(async () => {
  origin = await startAcrOrigin();
  front = await startAcrTlsFront(origin);
  token = fakeEntraJwt({ tid: 'tenant-extras', oid: 'extras', exp: Math.floor(Date.now() / 1000) + 3600 });
  origin.acceptAccessToken(token);
  arm = await startFakeArm({ registries: [{ subscription: SUB, resourceGroup: 'rg', name: 'frontacr', loginServer: front.host }], tokens: [token] });
  az = writeFakeAz();
  childEnv = azureTestEnv({ NODE_EXTRA_CA_CERTS: front.caPath, PATH: withPath(az.dir, process.env), FAKE_AZ_TOKEN: token, ACR_IMPORT_ARM_ENDPOINT: arm.url });
  return async () => {
    await arm.stop();
    await front.stop();
    await origin.stop();
  };
});
afterEach(() => setTokenCredential(undefined));

const platformsOf = (p: PushResult) => p.children.map((c) => `${c.platform!.os}/${c.platform!.architecture}${c.platform!.variant ? `/${c.platform!.variant}` : ''}`);

describe('--lock', () => {
  it('locks every imported manifest (an index and its platforms) through ACR metadata API after a client-side import', async () => {
    const repo = uniqueRepo('azure/lock');
    const pushed = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2 });
    // The registry is an ACR because ARM names it (bare name, looked up in the subscription).
    const r = await cliChild(['--subscription', SUB, '-n', 'frontacr', '--source', `${open.host}/${repo}:v1`, '--lock', '-o', 'json'], childEnv);
    expectCode(r, 0);
    expect((await getManifest(originAdmin(), repo, 'v1')).digest).toBe(pushed.digest);
    const mine = front.patches.filter((p) => p.repository === repo);
    expect(mine.map((p) => p.digest).sort()).toEqual(pushed.manifests.map((m) => m.digest).sort());
    for (const p of mine) expect(p.body).toMatchObject({ writeEnabled: false, deleteEnabled: false });
    const out = JSON.parse(r.stdout) as { locked: { repository: string; digest: string }[] };
    expect(out.locked.map((l) => l.digest).sort()).toEqual(pushed.manifests.map((m) => m.digest).sort());
    expect(r.stderr).toMatch(/Locked 3 manifest\(s\)/);

    // Imported again: nothing to copy, and the platform manifests come from ACR's related artifacts.
    const before = front.patches.length;
    const again = await cliChild(['-n', front.host, '--source', `${open.host}/${repo}:v1`, '--target-auth-mode', 'entra', '--lock', '-o', 'json'], childEnv);
    expectCode(again, 0);
    const relocked = front.patches.slice(before).map((p) => p.digest);
    expect(relocked[0]).toBe(pushed.digest);
    expect(relocked.slice(1).sort()).toEqual(pushed.children.map((m) => m.digest).sort());
  });

  it('--server-side --lock locks the imported tags once ACR reports success', async () => {
    const repo = uniqueRepo('azure/lock-server');
    // The fake ARM only acknowledges; the image is already where ACR would have put it.
    const pushed = await pushImage(originAdmin(), repo, '2.0', { kind: 'index', platforms: 2 });
    arm.setImportBehaviour({ kind: 'async', polls: 1, retryAfter: 0 });
    const r = await cliChild(['--server-side', '--subscription', SUB, '-n', 'frontacr', '--source', `ghcr.io/org/${repo}:2.0`, '-t', `${repo}:2.0`, '--lock', '-o', 'json'], childEnv);
    expectCode(r, 0);
    expect(arm.imports.at(-1)).toMatchObject({ registryId: registryId({ subscription: SUB, resourceGroup: 'rg', name: 'frontacr', loginServer: '' }) });
    // The tag's index, then the platform manifests ACR lists as its related artifacts.
    const locked = front.patches.filter((p) => p.repository === repo).map((p) => p.digest);
    expect(locked[0]).toBe(pushed.digest);
    expect(locked.slice(1).sort()).toEqual(pushed.children.map((m) => m.digest).sort());
    const out = JSON.parse(r.stdout) as { status: string; locked: { digest: string; reference: string }[] };
    expect(out.status).toBe('Succeeded');
    expect(out.locked[0]).toEqual({ repository: repo, digest: pushed.digest, reference: '2.0' });
    expect(out.locked).toHaveLength(3);
  });

  it('is refused before anything is copied for a target that is not an ACR', async () => {
    const repo = uniqueRepo('azure/lock-refused');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const r = await cli(['-n', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${repo}-copy:v1`, '--lock']);
    expectCode(r, 2);
    expect(r.stderr).toMatch(/--lock only works with Azure Container Registry targets/);
    expect((await getManifest(open, `${repo}-copy`, 'v1')).status).toBe(404);
  });

  it('is refused before anything is copied for an ACR signed in with a username and password, or over plain http', async () => {
    const repo = uniqueRepo('azure/lock-basic');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    // An ACR by ARM's word (the Entra token is for ARM), signed in with its admin user.
    setTokenCredential(new TestCredential({ fixed: token }));
    const armEnv = azureTestEnv({ ACR_IMPORT_ARM_ENDPOINT: arm.url });
    let r = await cli(['--subscription', SUB, '-n', 'frontacr', '--source', `${open.host}/${repo}:v1`, '--lock', '--target-username', 'testuser', '--target-password', 'testpass'], { env: armEnv });
    expectCode(r, 2);
    expect(r.stderr).toMatch(/--lock needs Entra ID sign-in/);
    expect((await getManifest(originAdmin(), repo, 'v1')).status).toBe(404);
    setTokenCredential(new TestCredential({ fixed: acr.entraToken }));
    r = await cli(['-n', acr.host, '--source', `${open.host}/${repo}:v1`, '--target-auth-mode', 'entra', '--lock']);
    expectCode(r, 2);
    expect(r.stderr).toMatch(/--lock needs the registry over https/);
    const admin = { url: acr.url, username: acr.username, password: acr.password };
    expect((await getManifest(admin, repo, 'v1')).status).toBe(404);
  });
});

describe('show-manifests', () => {
  it('on ACR lists an image and its platforms through ContainerRegistryClient, with tags, sizes, dates and locks', async () => {
    const repo = uniqueRepo('azure/show-acr');
    const pushed = await pushImage(originAdmin(), repo, 'v1', { kind: 'index', platforms: 2 });
    const before = front.metadataRequests.length;
    const r = await cliChild(['show-manifests', front.host, `${repo}:v1`, '--auth-mode', 'entra', '-o', 'json'], childEnv);
    expectCode(r, 0);
    expect(front.metadataRequests.length).toBeGreaterThan(before);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows[0]).toMatchObject({ digest: pushed.digest, tags: ['v1'], canWrite: true, canDelete: true });
    expect(rows[0]!.references!.map((x) => x.digest)).toEqual(pushed.children.map((c) => c.digest));
    expect(rows.slice(1).map((x) => x.digest)).toEqual(pushed.children.map((c) => c.digest));
    expect(rows.slice(1).map((x) => x.platform)).toEqual(platformsOf(pushed).map((p) => p.split('/').slice(0, 2).join('/')));
    expect(rows.every((x) => typeof x.createdTime === 'string' && typeof x.size === 'number')).toBe(true);
    expect(rows.slice(1).every((x) => x.parent === pushed.digest)).toBe(true);
  });

  it('on ACR lists a whole repository, as a table, signed in with a password-only Entra token', async () => {
    const repo = uniqueRepo('azure/show-acr-repo');
    const a = await pushImage(originAdmin(), repo, 'a', { kind: 'image' });
    const b = await pushImage(originAdmin(), repo, 'b', { kind: 'image', platform: { os: 'linux', architecture: 'arm64' } });
    const calls = az.calls().length;
    const env = { ...childEnv, FAKE_AZ_TOKEN: 'not-this-one' }; // the token is given: az must not be asked
    const r = await cliChild(['show-manifests', front.host, repo, '--auth-mode', 'entra', '-p', token], env);
    expectCode(r, 0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^DIGEST\s+PLATFORM\s+SIZE\s+TAGS\s+CREATED$/);
    expect(r.stdout).toContain(a.digest);
    expect(r.stdout).toContain(b.digest);
    expect(r.stdout).toMatch(/linux\/arm64/);
    expect(az.calls().length).toBe(calls);
    expect(lines).toHaveLength(3);
  });

  it('on any other registry walks the manifests: platforms from the index, tags, sizes and creation dates', async () => {
    const repo = uniqueRepo('azure/show-open');
    const pushed = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 3 });
    await pushImage(open, repo, 'stable', { kind: 'image' });
    const r = await cli(['show-manifests', open.host, `${repo}@${pushed.digest}`, '-o', 'json']);
    expectCode(r, 0);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({ digest: pushed.digest, tags: ['v1'], size: pushed.size });
    expect(rows[0]!.references).toHaveLength(3);
    expect(rows.slice(1).map((x) => x.platform)).toEqual(platformsOf(pushed));
    for (const [i, child] of pushed.children.entries()) {
      const total = child.size + child.config!.size + child.layers.reduce((n, l) => n + l.size, 0);
      expect(rows[i + 1]).toMatchObject({ digest: child.digest, size: total, parent: pushed.digest });
      expect(rows[i + 1]!.createdTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    }

    const table = await cli(['show-manifests', open.host, repo]);
    expectCode(table, 0);
    expect(table.stdout.split('\n')[0]).toMatch(/^DIGEST/);
    expect(table.stdout).toContain(`  ${pushed.children[0]!.digest}`);
    expect(table.stdout).toMatch(/index of 3/);
    expect(table.stdout.trim().split('\n')).toHaveLength(6);
  });

  it('on an ACR over plain http signs in with Entra ID and walks the manifests with the registry API', async () => {
    const repo = uniqueRepo('azure/show-http-acr');
    const pushed = await pushImage({ url: acr.url, username: acr.username, password: acr.password }, repo, '1.0', { kind: 'image' });
    const cred = new TestCredential({ fixed: acr.entraToken });
    setTokenCredential(cred);
    const r = await cli(['show-manifests', acr.host, `${repo}:1.0`, '--auth-mode', 'entra', '-o', 'json']);
    expectCode(r, 0);
    expect(JSON.parse(r.stdout)).toMatchObject([{ digest: pushed.digest, tags: ['1.0'], platform: 'linux/amd64' }]);
    expect(cred.calls).toHaveLength(1);
  });

  it('reports a missing repository or tag as not found', async () => {
    const r = await cli(['show-manifests', open.host, `${uniqueRepo('azure/none')}:v1`]);
    expectCode(r, 4);
    const bad = await cli(['show-manifests', open.host, 'UPPER/case']);
    expectCode(bad, 2);
  });
});
