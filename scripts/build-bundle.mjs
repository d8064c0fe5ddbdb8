#!/usr/bin/env node
// Bundles the CLI with esbuild, so that the npm package needs no dependencies at run time.
//
//   node scripts/build-bundle.mjs          ESM bundle for the npm package: dist/bundle/
//   node scripts/build-bundle.mjs --cjs    CommonJS single file for the single executable: dist/sea/
//
// ESM (dist/bundle/main.js, loaded by bin/acr-import.js): one entry file with everything `--help`
// needs (commander, chalk, ...), and code splitting, so that what src loads with `await import()`
// (the copy engine with undici and p-limit, ora, and the heavy @azure/identity and
// @azure/container-registry) lands in chunks under dist/bundle/chunks/ that are read only when a
// command needs them. Bundled CommonJS packages call require(): the banner gives ESM a real one.
//
// CJS (dist/sea/acr-import.cjs): a Node single executable application runs one CommonJS script
// whose require() only knows Node's builtins, so everything, @azure/* included, is in that one
// file; dynamic imports become plain function calls. CJS has no top-level await (the entry below
// has none) and no import.meta: import.meta.url is replaced by the script's file URL.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Packages that ship both, pick ESM: it tree-shakes and keeps chunks small.
  mainFields: ['module', 'main'],
  minify: true,
  // Class and function names stay readable in error messages and stack traces.
  keepNames: true,
  legalComments: 'none',
  // Node's builtins only; every package is inside the bundle.
  packages: 'bundle',
  logLevel: 'warning',
  metafile: true,
};

/** The ESM bundle for npm: dist/bundle/main.js (exports main) and lazily loaded chunks. */
export async function buildEsm({ outdir = join(root, 'dist/bundle') } = {}) {
  // Built beside the target and moved in file by file (each rename atomic, main.js last, stale
  // chunks removed after): a CLI started from this tree meanwhile never reads a missing or
  // half-written chunk.
  const staging = `${outdir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    const result = await esbuild.build({
      ...common,
      entryPoints: { main: 'src/cli/main.ts' },
      outdir: staging,
      format: 'esm',
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      banner: {
        js: "import { createRequire as __acrImportCreateRequire } from 'node:module'; const require = __acrImportCreateRequire(import.meta.url);",
      },
    });
    // The bundle copies these packages' code: their licences go with it, and an SBOM names them
    // (all are devDependencies, so a scanner reading package.json would see none).
    const packages = bundledPackages(result.metafile);
    writeFileSync(join(staging, 'THIRD-PARTY-LICENSES.txt'), thirdPartyLicenses(packages));
    writeFileSync(join(staging, SBOM_FILE), cycloneDx(packages));
    const files = listFiles(staging).sort((a, b) => Number(a === 'main.js') - Number(b === 'main.js'));
    for (const file of files) {
      mkdirSync(dirname(join(outdir, file)), { recursive: true });
      renameSync(join(staging, file), join(outdir, file));
    }
    const built = new Set(files);
    for (const file of listFiles(outdir)) if (!built.has(file)) rmSync(join(outdir, file), { force: true });
    return { outdir, files, metafile: result.metafile };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export const SBOM_FILE = 'sbom.cdx.json';

/** The packages with code in a bundle (esbuild's metafile names every input file): name, version, licence, directory. */
export function bundledPackages(metafile) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
    if (m) dirs.add(m[1]);
  }
  return [...dirs].sort().map((dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    return { dir, name: pkg.name, version: pkg.version, license: typeof pkg.license === 'string' ? pkg.license : undefined };
  });
}

/** The licence texts of these packages, and of anything else shipped (`extra`: a heading and a text). */
export function thirdPartyLicenses(packages, extra = []) {
  const sections = packages.map((p) => {
    const file = readdirSync(join(root, p.dir)).find((f) => /^(licen[sc]e|copying)(\.|$)/i.test(f));
    const text = file ? readFileSync(join(root, p.dir, file), 'utf8').trim() : `License: ${p.license ?? 'see the package'}`;
    return `${p.name}@${p.version} (${p.license ?? 'unknown'})\n\n${text}`;
  });
  for (const e of extra) sections.push(`${e.heading}\n\n${e.text.trim()}`);
  const rule = `\n\n${'-'.repeat(78)}\n\n`;
  return `acr-import bundles the following packages.${rule}${sections.join(rule)}\n`;
}

/**
 * A CycloneDX 1.5 SBOM of what a bundle carries, written here from the metafile rather than by
 * @cyclonedx/cyclonedx-npm: that tool describes the npm dependency tree, where every bundled package
 * is a devDependency beside test and build tools that ship nothing; the metafile says exactly whose
 * code is inside. Hashes are the registry's, from package-lock.json. No timestamp or random serial:
 * the same inputs give the same bytes.
 */
export function cycloneDx(packages, { extraComponents = [] } = {}) {
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages ?? {};
  const components = packages.map((p) => {
    const [group, name] = p.name.startsWith('@') ? p.name.split('/') : [undefined, p.name];
    const purl = `pkg:npm/${p.name.replace(/^@/, '%40')}@${p.version}`;
    const integrity = lock[p.dir]?.integrity;
    const sha512 = integrity?.startsWith('sha512-') ? Buffer.from(integrity.slice(7), 'base64').toString('hex') : undefined;
    return {
      type: 'library',
      'bom-ref': purl,
      ...(group ? { group } : {}),
      name,
      version: p.version,
      purl,
      ...(p.license ? { licenses: [/^[\w.+-]+$/.test(p.license) ? { license: { id: p.license } } : { expression: p.license }] } : {}),
      ...(sha512 ? { hashes: [{ alg: 'SHA-512', content: sha512 }] } : {}),
    };
  });
  components.push(...extraComponents);
  const self = `pkg:npm/${own.name}@${own.version}`;
  const bom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      component: { type: 'application', 'bom-ref': self, name: own.name, version: own.version, purl: self, licenses: [{ license: { id: own.license } }] },
      tools: { components: [{ type: 'application', name: 'scripts/build-bundle.mjs', version: own.version }] },
    },
    components,
    dependencies: [{ ref: self, dependsOn: components.map((c) => c['bom-ref']) }],
  };
  // A serial number derived from the content (RFC 4122 layout), so that it changes only with it.
  const h = createHash('sha256').update(JSON.stringify(bom)).digest('hex');
  const serialNumber = `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return `${JSON.stringify({ bomFormat: bom.bomFormat, specVersion: bom.specVersion, serialNumber, ...bom }, null, 2)}\n`;
}

/** Files under dir, relative to it ('chunks/x.js'). */
function listFiles(dir) {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)));
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
}

/** The CommonJS single file for the SEA: dist/sea/acr-import.cjs runs the CLI when executed. */
export async function buildCjs({ outfile = join(root, 'dist/sea/acr-import.cjs') } = {}) {
  const result = await esbuild.build({
    ...common,
    stdin: {
      contents: [
        "import { main } from './src/cli/main.ts';",
        'main(process.argv).then(',
        '  (code) => { process.exitCode = code; },',
        '  (err) => { process.stderr.write(`${err?.stack ?? err}\\n`); process.exitCode = 1; },',
        ');',
      ].join('\n'),
      resolveDir: root,
      sourcefile: 'sea-entry.ts',
      loader: 'ts',
    },
    outfile,
    format: 'cjs',
    define: { 'import.meta.url': '__acrImportMetaUrl' },
    banner: { js: "'use strict'; const __acrImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  return { outfile, metafile: result.metafile };
}

/** Output files and sizes (metafile paths are relative to the root; ESM ones name the staging dir). */
function report(metafile) {
  const lines = Object.entries(metafile.outputs).map(([file, out]) => {
    const name = file.replace(`.tmp-${process.pid}/`, '/');
    return `  ${name.padEnd(48)} ${(out.bytes / 1024).toFixed(0).padStart(6)} KiB`;
  });
  console.log(lines.join('\n'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cjs = process.argv.includes('--cjs');
  const { metafile } = cjs ? await buildCjs() : await buildEsm();
  console.log(cjs ? 'CommonJS bundle for the single executable:' : 'ESM bundle for the npm package:');
  report(metafile);
}
