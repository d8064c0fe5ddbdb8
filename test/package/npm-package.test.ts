// The npm package as a user gets it: `npm pack` (its prepack builds the bundle), installed into an
// empty directory, then run: --help, --version, a real import between two registries, and an
// Entra ID sign-in that loads the lazily bundled @azure/identity chunk.
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pushImage, uniqueRepo, type PushResult } from '../harness/index.js';
import { exec, expectIndexCopied, ok, packageJson, removeScratch, root, scratchDir, sha256Digest, skopeoRaw, startFakeManagedIdentity, toolEnv } from './helpers.js';

const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');
const acr = inject('acrOrigin');

let tarball: string;
let tarballBytes: number;
let entries: string[];
let installDir: string;
let cliPath: string;
let image: PushResult;
let sourceRepo: string;

beforeAll(async () => {
  const packDir = scratchDir('pack');
  sourceRepo = uniqueRepo('pkg-npm-src');
  const [pack] = await Promise.all([
    exec('npm', ['pack', '--pack-destination', packDir], { cwd: root, env: toolEnv(), timeoutMs: 120_000 }),
    pushImage(open, sourceRepo, 'v1', { kind: 'index', platforms: 2 }).then((r) => (image = r)),
  ]);
  ok(pack, 'npm pack');
  const name = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
  expect(name).toBe(`${packageJson.name}-${packageJson.version}.tgz`);
  tarball = join(packDir, name!);
  tarballBytes = statSync(tarball).size;
  entries = ok(await exec('tar', ['tzf', tarball]), 'tar tzf')
    .stdout.split('\n')
    .filter(Boolean)
    .map((e) => e.replace(/^package\//, ''));

  installDir = scratchDir('install');
  writeFileSync(join(installDir, 'package.json'), JSON.stringify({ name: 'acr-import-package-test', private: true }));
  ok(await exec('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: installDir, env: toolEnv(), timeoutMs: 120_000 }), 'npm install');
  cliPath = join(installDir, 'node_modules', '.bin', 'acr-import');
}, 180_000);

afterAll(() => removeScratch());

/** Runs the installed CLI (through npm's bin link and its `#!/usr/bin/env node`). */
const acrImport = (args: string[], env: NodeJS.ProcessEnv = toolEnv()) => exec(cliPath, args, { cwd: installDir, env, timeoutMs: 60_000 });

describe('the tarball', () => {
  it('holds the launcher and the bundle, and nothing of the sources', () => {
    expect(entries).toContain('package.json');
    expect(entries).toContain('bin/acr-import.js');
    expect(entries).toContain('dist/bundle/main.js');
    expect(entries).toContain('dist/bundle/THIRD-PARTY-LICENSES.txt');
    expect(entries).toContain('dist/bundle/sbom.cdx.json');
    expect(entries).toContain('CHANGELOG.md');
    expect(entries).toContain('schema/import-result.schema.json');
    expect(entries).toContain('schema/sync-result.schema.json');
    expect(entries).toContain('schema/sync-config.schema.json');
    for (const e of entries) {
      expect(e, e).toMatch(/^(package\.json|README\.md|LICENSE|CHANGELOG\.md|schema\/(import-result|sync-result|sync-config)\.schema\.json|bin\/acr-import\.js|dist\/bundle\/(main\.js|THIRD-PARTY-LICENSES\.txt|sbom\.cdx\.json|chunks\/[\w-]+\.js))$/);
    }
    expect(tarballBytes).toBeLessThan(1024 * 1024);
  });

  it('declares no dependencies, the Node versions it runs on, and a prepack that builds', () => {
    expect(packageJson.dependencies ?? {}).toEqual({});
    expect(packageJson.engines.node).toBe('>=20.19');
    expect(packageJson.bin).toEqual({ 'acr-import': 'bin/acr-import.js' });
    expect(packageJson.scripts.prepack).toMatch(/build-bundle/);
  });

  it('installs as one small package: nothing else lands in node_modules', () => {
    const installed = readdirSync(join(installDir, 'node_modules')).filter((d) => !d.startsWith('.'));
    expect(installed).toEqual(['acr-import']);
    const pkgDir = join(installDir, 'node_modules', 'acr-import');
    const unpacked = entries.reduce((sum, e) => sum + statSync(join(pkgDir, e)).size, 0);
    expect(unpacked).toBeLessThan(3 * 1024 * 1024);
  });

  it('publishes a CycloneDX SBOM of the bundled packages (all devDependencies), and CI audits exactly those', async () => {
    const sbomPath = join(installDir, 'node_modules', 'acr-import', 'dist', 'bundle', 'sbom.cdx.json');
    const sbom = JSON.parse(readFileSync(sbomPath, 'utf8')) as { bomFormat: string; components: { group?: string; name: string; version: string }[] };
    expect(sbom.bomFormat).toBe('CycloneDX');
    const names = sbom.components.map((c) => (c.group ? `${c.group}/${c.name}` : c.name));
    const dev = packageJson as unknown as { devDependencies: Record<string, string> };
    for (const name of ['@azure/identity', '@azure/container-registry', 'undici', 'commander', 'chalk', 'ora', 'p-limit']) {
      expect(names, name).toContain(name);
      expect(dev.devDependencies[name], `${name} is a devDependency`).toBeDefined();
    }
    expect(names).not.toContain('vitest');
    // The audit step's throwaway project holds each of them, with the tree's locked integrity.
    const printed = ok(await exec('node', [join(root, 'scripts', 'audit-bundle.mjs'), '--print-lock', sbomPath], { env: toolEnv() }), 'audit-bundle --print-lock');
    const auditLock = JSON.parse(printed.stdout) as { packages: Record<string, { version?: string; integrity?: string; dependencies?: Record<string, string> }> };
    const treeLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { integrity?: string }> };
    for (const c of sbom.components) {
      const name = c.group ? `${c.group}/${c.name}` : c.name;
      const path = Object.keys(auditLock.packages).find((p) => p.endsWith(`node_modules/${name}`) && auditLock.packages[p]!.version === c.version);
      expect(path, `${name}@${c.version} audited`).toBeDefined();
      expect(auditLock.packages[path!]!.integrity).toBe(treeLock.packages[path!]!.integrity);
    }
  });

  it('keeps the heavy modules out of what --help loads', () => {
    // The files main.js loads statically (its import graph); the rest are import()ed on demand.
    const dir = join(installDir, 'node_modules', 'acr-import', 'dist', 'bundle');
    const loaded = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      const text = readFileSync(join(dir, file), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*"\.\/([\w./-]+\.js)"/g)) {
        const next = join(file, '..', m[1]!);
        if (existsSync(join(dir, next))) visit(next);
      }
    };
    visit('main.js');
    const total = (files: Iterable<string>) => [...files].reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    const all = entries.filter((e) => e.startsWith('dist/bundle/') && e.endsWith('.js')).map((e) => e.slice('dist/bundle/'.length));
    expect(total(loaded)).toBeLessThan(150 * 1024);
    expect(total(all)).toBeGreaterThan(1024 * 1024);
    const eager = [...loaded].map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    // undici and the Azure SDKs stay in lazily loaded chunks.
    expect(eager).not.toMatch(/undici|DefaultAzureCredential|ContainerRegistryClient/);
  });
});

describe('the installed CLI', () => {
  it('prints the package version', async () => {
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

  it('runs with `npx ./<tarball>` in a directory with nothing else', async () => {
    const dir = scratchDir('npx');
    copyFileSync(tarball, join(dir, basename(tarball)));
    const r = ok(await exec('npx', ['--yes', '--prefer-offline', `./${basename(tarball)}`, '--help'], { cwd: dir, env: toolEnv(), timeoutMs: 120_000 }), 'npx');
    expect(r.stdout).toMatch(/^Usage: acr-import /);
  }, 120_000);

  it('imports an index between two registries', async () => {
    const target = uniqueRepo('pkg-npm-dst');
    const r = await acrImport(['--name', htpasswd.host, '--source', `${open.host}/${sourceRepo}:v1`, '--image', `${target}:copied`, '--target-username', htpasswd.username, '--target-password', htpasswd.password, '-o', 'json']);
    ok(r, 'import');
    expect(JSON.parse(r.stdout)).toMatchObject({ sourceDigest: image.digest });
    await expectIndexCopied(`${htpasswd.host}/${target}:copied`, image, htpasswd);
  });

  it('signs in with Entra ID through the bundled @azure/identity', async () => {
    const identity = await startFakeManagedIdentity(acr.entraToken);
    try {
      const target = uniqueRepo('pkg-npm-entra');
      const r = await acrImport(['--name', acr.host, '--source', `${open.host}/${sourceRepo}:v1`, '--image', `${target}:v1`, '--target-auth-mode', 'entra'], toolEnv(identity.env));
      ok(r, 'import with Entra ID');
      expect(identity.requests.length).toBeGreaterThan(0);
      expect(identity.requests.every((q) => q.headerOk)).toBe(true);
      expect(sha256Digest(await skopeoRaw(`${acr.host}/${target}:v1`, acr))).toBe(image.digest);
    } finally {
      await identity.close();
    }
  });
});
