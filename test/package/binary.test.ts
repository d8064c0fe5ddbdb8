// The single executable (Node SEA) from `npm run build:binary`, run where no node can be found:
// --version, --help, a real import, and an Entra ID sign-in through the @azure/identity it carries.
import { copyFileSync, existsSync, statSync } from 'node:fs';
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

beforeAll(async () => {
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
    const r = await acrImport(['--name', htpasswd.host, '--source', `${open.host}/${sourceRepo}:v1`, '--image', `${target}:copied`, '--target-username', htpasswd.username, '--target-password', htpasswd.password]);
    ok(r, 'import');
    expect(r.stderr).not.toMatch(/Warning/);
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
