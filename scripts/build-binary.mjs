#!/usr/bin/env node
// Builds the single executable dist/acr-import-<platform>-<arch> (a Node SEA), offline, from the
// node binary running this script (process.execPath): nothing is downloaded.
//
//   1. esbuild: everything, @azure/* included, into one CommonJS file (build-bundle.mjs --cjs);
//   2. node --experimental-sea-config: that file and its V8 code cache as a blob, with the
//      settings of sea-config.json (disableExperimentalSEAWarning: the binary prints only its
//      own output; useCodeCache: a faster start);
//   3. a copy of node, with the blob injected by postject under the SEA sentinel fuse.
//
// The steps run in a private directory and the binary is renamed into place at the end, so two
// builds at once (two test runs in one tree) do not trip over each other. postject prints
// "warning: Can't find string offset for section name '.note…'" for Node's ELF notes: harmless.
// Linux only for now: macOS needs codesign and a Mach-O segment name, Windows signtool.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildCjs } from './build-bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export function binaryPath(platform = process.platform, arch = process.arch) {
  return join(root, 'dist', `acr-import-${platform}-${arch}`);
}

function fail(message) {
  throw new Error(`build-binary: ${message}`);
}

export async function buildBinary({ nodeBinary = process.execPath, output = binaryPath() } = {}) {
  if (process.platform !== 'linux') fail(`only Linux is supported (this is ${process.platform})`);
  // A node built as a thin launcher for a shared libnode (some distributions' packages) has no fuse.
  if (!readFileSync(nodeBinary).includes(`${SENTINEL_FUSE}:0`)) {
    fail(`${nodeBinary} cannot become a single executable: it has no unflipped ${SENTINEL_FUSE} (a shared-libnode build, or already a SEA). Use an official Node.js build.`);
  }

  const staging = join(dirname(output), `.sea-build-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const { outfile } = await buildCjs({ outfile: join(staging, 'acr-import.cjs') });

    // sea-config.json with this build's paths (its own name dist/sea/..., for a build by hand).
    const config = { ...JSON.parse(readFileSync(join(root, 'sea-config.json'), 'utf8')), main: outfile, output: join(staging, 'sea-prep.blob') };
    writeFileSync(join(staging, 'sea-config.json'), JSON.stringify(config, null, 2));
    const prep = spawnSync(nodeBinary, ['--experimental-sea-config', join(staging, 'sea-config.json')], { cwd: root, encoding: 'utf8' });
    if (prep.status !== 0) fail(`node --experimental-sea-config failed (${prep.status ?? prep.signal}):\n${prep.stderr}${prep.stdout}`);

    const binary = join(staging, 'acr-import');
    copyFileSync(nodeBinary, binary);
    chmodSync(binary, 0o755);
    // postject's API (what `npx postject <bin> NODE_SEA_BLOB <blob> --sentinel-fuse …` calls).
    const { inject } = createRequire(import.meta.url)('postject');
    await inject(binary, 'NODE_SEA_BLOB', readFileSync(config.output), { sentinelFuse: SENTINEL_FUSE });

    // It must run by itself, with no node on PATH: a broken blob shows here, not on a user's machine.
    const check = spawnSync(binary, ['--version'], { cwd: staging, encoding: 'utf8', env: { PATH: '', HOME: staging } });
    if (check.status !== 0 || check.stderr) fail(`the built binary's --version failed (${check.status ?? check.signal}):\n${check.stderr}${check.stdout}`);

    renameSync(binary, output);
    return { output, version: check.stdout.trim(), bytes: statSync(output).size };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const r = await buildBinary();
  console.log(`${relative(root, r.output)}: acr-import ${r.version}, ${(r.bytes / 1024 / 1024).toFixed(1)} MiB, built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
