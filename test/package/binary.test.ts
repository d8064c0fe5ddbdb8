// The single executable (Node SEA) from `npm run build:binary`, run where no node can be found:
// --version, --help, a real import, and an Entra ID sign-in through the @azure/identity it carries.
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pushImage, uniqueRepo, type PushResult } from '../harness/index.js';
import { exec, expectIndexCopied, nodelessEnv, ok, packageJson, removeScratch, root, scratchDir, sha256Digest, skopeoRaw, startFakeManagedIdentity, toolEnv, type Exec } from './helpers.js';

const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');
const acr = inject('acrOrigin');

const built = join(root, 'dist', `acr-import-${process.platform}-${process.arch}`);
let binary: string;
let workDir: string;
let image: PushResult;
let sourceRepo: string;

/** The Node the build pins (scripts/build-binary.mjs), and the package-lock entries of the tree. */
const NODE = { version: /version: '(\d+\.\d+\.\d+)'/.exec(readFileSync(join(root, 'scripts', 'build-binary.mjs'), 'utf8'))![1]! };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; integrity?: string }> };

beforeAll(async () => {
  // The pinned Node comes from the npm registry, beyond what tests may reach: `npm test` fetches it first.
  const cached = join(root, 'node_modules', '.cache', 'acr-import', `node-v${NODE.version}-${process.platform}-${process.arch}`, 'bin', 'node');
  if (!existsSync(cached)) throw new Error(`Node ${NODE.version} for the binary is not fetched yet: run \`node scripts/build-binary.mjs --fetch-node\` (npm test does) and run this again.`);
  sourceRepo = uniqueRepo('pkg-bin-src');
  const [build] = await Promise.all([
    exec('npm', ['run', 'build:binary'], { cwd: root, env: toolEnv(), timeoutMs: 150_000 }),
    pushImage(open, sourceRepo, 'v1', { kind: 'index', platforms: 2 }).then((r) => (image = r)),
  ]);
  ok(build, 'npm run build:binary');
  expect(statSync(built).size).toBeGreaterThan(50 * 1024 * 1024);
  // Run from a directory of its own, far from the project and its node_modules.
  workDir = scratchDir('binary');
  binary = join(workDir, 'acr-import');
  copyFileSync(built, binary);
  expect(statSync(binary).mode & 0o111).not.toBe(0);
}, 180_000);

afterAll(() => removeScratch());

interface CdxComponent {
  type: string;
  group?: string;
  name: string;
  version: string;
  purl: string;
  hashes?: { alg: string; content: string }[];
}

/** Runs the binary with PATH holding no node and nothing else of this machine's environment. */
function acrImport(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Exec> {
  return exec(binary, args, { cwd: workDir, env: nodelessEnv(extra), timeoutMs: 60_000 });
}

describe('the single executable', () => {
  it('has no node to lean on in the environment it runs in', async () => {
    const env = nodelessEnv();
    for (const dir of env.PATH!.split(':')) expect(existsSync(join(dir, 'node'))).toBe(false);
    // A script that needs node fails there, so the binary's own runs below prove it needs none.
    const r = await exec('/usr/bin/env', ['node', '--version'], { env });
    expect(r.code).not.toBe(0);
  });

  it('prints the package version, and no warnings', async () => {
    const r = ok(await acrImport(['--version']), '--version');
    expect(r.stdout.trim()).toBe(packageJson.version);
    expect(r.stderr).toBe('');
  });

  it('prints help', async () => {
    // Start-up time is measured by `npm run bench`, not asserted here.
    const r = ok(await acrImport(['--help']), '--help');
    expect(r.stdout).toMatch(/^Usage: acr-import /);
    expect(r.stderr).toBe('');
  });

  it('reports a usage error with its exit code and no stack', async () => {
    const r = await acrImport(['--source', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--name/);
    expect(r.stderr).not.toMatch(/ExperimentalWarning|\n\s+at /);
  });

  it('imports an index between two registries', async () => {
    const target = uniqueRepo('pkg-bin-dst');
    const r = await acrImport(['--name', htpasswd.host, '--source', `${open.host}/${sourceRepo}:v1`, '--image', `${target}:copied`, '--target-username', htpasswd.username, '--target-password', htpasswd.password, '--debug']);
    ok(r, 'import');
    expect(r.stderr).not.toMatch(/Warning/);
    // The Node flags of sea-config.json apply (a small young generation: fewer page faults on big copies).
    expect(r.stderr).toContain(`acr-import ${packageJson.version} on Node v${NODE.version} (--max-semi-space-size=1)`);
    await expectIndexCopied(`${htpasswd.host}/${target}:copied`, image, htpasswd);
  });

  it('signs in with Entra ID through the @azure/identity it carries', async () => {
    const identity = await startFakeManagedIdentity(acr.entraToken);
    try {
      const target = uniqueRepo('pkg-bin-entra');
      const r = await acrImport(['--name', acr.host, '--source', `${open.host}/${sourceRepo}:v1`, '--image', `${target}:v1`, '--target-auth-mode', 'entra'], identity.env);
      ok(r, 'import with Entra ID');
      expect(identity.requests.length).toBeGreaterThan(0);
      expect(sha256Digest(await skopeoRaw(`${acr.host}/${target}:v1`, acr))).toBe(image.digest);
    } finally {
      await identity.close();
    }
  });
});

describe('what the single executable is made of', () => {
  it('is built on the pinned LTS Node from the npm registry, not on the node that ran the build', () => {
    const major = Number(NODE.version.split('.')[0]);
    // Even majors become LTS; 22 is the oldest line still supported.
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(22);
    const bytes = readFileSync(built);
    // Node carries its own release URLs (process.release): they name the version it is.
    expect(bytes.includes(`node-v${NODE.version}-headers.tar.gz`)).toBe(true);
    if (process.version !== `v${NODE.version}`) expect(bytes.includes(`node-${process.version}-headers.tar.gz`)).toBe(false);
  });

  it('embeds no path of the machine that built it', () => {
    const bytes = readFileSync(built);
    // The SEA blob records its main script's name: built from an absolute path, that was the project's.
    for (const path of [root.replace(/\/+$/, ''), '.sea-build-', 'node_modules/.cache']) {
      expect(bytes.includes(path), `the binary contains ${path}`).toBe(false);
    }
  });

  it('ships a CycloneDX SBOM naming each bundled package at its locked version and hash, and the Node runtime', () => {
    const sbom = JSON.parse(readFileSync(`${built}.cdx.json`, 'utf8')) as { bomFormat: string; specVersion: string; serialNumber: string; metadata: { component: { name: string; version: string } }; components: CdxComponent[] };
    expect(sbom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5', metadata: { component: { name: packageJson.name, version: packageJson.version } } });
    expect(sbom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const byName = new Map(sbom.components.map((c) => [c.group ? `${c.group}/${c.name}` : c.name, c]));
    for (const name of ['@azure/identity', '@azure/container-registry', 'undici', 'commander', 'p-limit', 'chalk']) {
      const c = byName.get(name);
      expect(c, name).toBeDefined();
      const locked = lock.packages[`node_modules/${name}`]!;
      expect(c!.version).toBe(locked.version);
      expect(c!.purl).toBe(`pkg:npm/${name.replace('@', '%40')}@${locked.version}`);
      expect(c!.hashes).toEqual([{ alg: 'SHA-512', content: Buffer.from(locked.integrity!.slice('sha512-'.length), 'base64').toString('hex') }]);
    }
    // Build and test tools ship nothing, and are not listed.
    for (const name of ['vitest', 'esbuild', 'typescript', 'postject', 'tsx']) expect(byName.has(name), name).toBe(false);
    expect(byName.get('node')).toMatchObject({ type: 'platform', version: NODE.version });
  });

  it('ships the licence notices of every package in it, and of Node', () => {
    const notices = readFileSync(`${built}.THIRD-PARTY-LICENSES.txt`, 'utf8');
    const sbom = JSON.parse(readFileSync(`${built}.cdx.json`, 'utf8')) as { components: CdxComponent[] };
    for (const c of sbom.components.filter((x) => x.type === 'library')) expect(notices).toContain(`${c.group ? `${c.group}/` : ''}${c.name}@${c.version} (`);
    expect(notices).toContain(`Node.js ${NODE.version} (the runtime of this executable)`);
    expect(notices).toMatch(/Node\.js is licensed for use as follows/);
  });
});
