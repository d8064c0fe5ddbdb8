#!/usr/bin/env node
// Audits what ships, not the whole dev tree: the packages named by the bundle's SBOM (every one a
// devDependency, so `npm audit --omit=dev` would check nothing, and a plain `npm audit` would also
// fail on test tools that ship nothing). They go into a throwaway project, with their entries of
// package-lock.json, and `npm audit` checks them against the registry's advisories. Exits 1 on a
// high or critical advisory. A registry that does not answer advisory requests (some mirrors
// refuse the POST) is reported as "not audited" and fails only with --require.
//
//   node scripts/audit-bundle.mjs [--require] [--print-lock] [sbom.cdx.json ...]
//   default SBOM: dist/bundle/sbom.cdx.json; --print-lock prints the throwaway lockfile and stops.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('--'));
const sboms = files.length ? files : [join(root, 'dist/bundle/sbom.cdx.json')];

const wanted = new Map();
for (const file of sboms) {
  for (const c of JSON.parse(readFileSync(file, 'utf8')).components ?? []) {
    if (!c.purl?.startsWith('pkg:npm/')) continue;
    const name = c.group ? `${c.group}/${c.name}` : c.name;
    wanted.set(`${name}@${c.version}`, { name, version: c.version });
  }
}

// Each package at the lock path it has in this tree (nested copies keep their nesting).
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const packages = { '': { name: 'acr-import-bundle-audit', version: '0.0.0', dependencies: {} } };
for (const { name, version } of wanted.values()) {
  const path = Object.keys(lock.packages).find((p) => p.endsWith(`node_modules/${name}`) && lock.packages[p].version === version);
  if (!path) throw new Error(`audit-bundle: ${name}@${version} is in the SBOM but not in package-lock.json`);
  const { dev, devOptional, peer, ...entry } = lock.packages[path];
  packages[path] = entry;
  if (path === `node_modules/${name}`) packages[''].dependencies[name] = version;
}

const lockfile = { name: packages[''].name, version: '0.0.0', lockfileVersion: 3, requires: true, packages };
if (args.includes('--print-lock')) {
  console.log(JSON.stringify(lockfile, null, 2));
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'acr-import-audit-'));
try {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...packages[''], private: true }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lockfile, null, 2));
  console.log(`Auditing the ${wanted.size} packages in the bundle (${sboms.map((s) => s.replace(`${root}/`, '')).join(', ')})`);
  const r = spawnSync('npm', ['audit', '--omit=optional', '--json'], { cwd: dir, encoding: 'utf8' });
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    report = { error: { summary: (r.stderr || r.stdout || `npm audit exited ${r.status}`).trim() } };
  }
  if (!report.metadata) {
    console.log(`NOT AUDITED: the registry did not answer the advisory request (${String(report.message || report.error?.summary || report.error?.code || 'no answer').split('\n')[0]}).`);
    process.exitCode = args.includes('--require') ? 1 : 0;
  } else {
    const v = report.metadata?.vulnerabilities ?? {};
    for (const [name, x] of Object.entries(report.vulnerabilities ?? {})) console.log(`  ${x.severity.padEnd(8)} ${name} ${x.range ?? ''}`);
    console.log(`Advisories: ${['critical', 'high', 'moderate', 'low'].map((k) => `${v[k] ?? 0} ${k}`).join(', ')}.`);
    process.exitCode = (v.critical ?? 0) + (v.high ?? 0) > 0 ? 1 : 0;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
