#!/usr/bin/env node
// Builds the single executable dist/acr-import-<platform>-<arch> (a Node SEA) on a pinned LTS Node,
// not on the node running this script (which may be any version, and out of support):
//
//   0. the official Node build, from the npm registry's node-<platform>-<arch> package, fetched with
//      `npm pack`, checked against the integrity pinned below and cached in node_modules/.cache;
//   1. esbuild: everything, @azure/* included, into one CommonJS file (build-bundle.mjs --cjs);
//   2. node --experimental-sea-config: that file and its V8 code cache as a blob, with the
//      settings of sea-config.json (disableExperimentalSEAWarning: the binary prints only its
//      own output; useCodeCache: a faster start; execArgv: Node flags the binary starts with,
//      which an npm install leaves to the user: --max-semi-space-size=1 keeps V8's young
//      generation small, and with it the page faults of streaming gigabytes through 64 KiB
//      socket buffers: on a 1 GiB copy, 0.87× the time, 0.78× the CPU, 130 MiB peak instead of
//      176, measured with bench/tools/ab.ts on this Node);
//   3. a copy of node, with the blob injected by postject under the SEA sentinel fuse.
//
// The steps run in a private directory and the binary is renamed into place at the end, so two
// builds at once (two test runs in one tree) do not trip over each other. postject prints
// "warning: Can't find string offset for section name '.note…'" for Node's ELF notes: harmless.
// Linux only for now: macOS needs codesign and a Mach-O segment name, Windows signtool.
//
// Beside the binary: <binary>.THIRD-PARTY-LICENSES.txt (the bundled packages' licences and Node's)
// and <binary>.cdx.json, a CycloneDX SBOM of both. Nothing of the build machine's paths is inside:
// the bundle is built from the project root with relative names, and the SEA's main script is
// named only by its base name.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildCjs, bundledPackages, cycloneDx, thirdPartyLicenses } from './build-bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * The Node the binary is built on: the newest 24.x (LTS, supported to April 2028), with the npm
 * registry's integrity for each platform package. Moving it is a deliberate change here.
 */
export const NODE = {
  version: '24.22.3',
  integrity: {
    'linux-x64': 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
    'linux-arm64': 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
  },
};

export function binaryPath(platform = process.platform, arch = process.arch) {
  return join(root, 'dist', `acr-import-${platform}-${arch}`);
}

function fail(message) {
  throw new Error(`build-binary: ${message}`);
}

/** bin/node and LICENSE of the pinned Node for this machine, fetched once into node_modules/.cache. */
export function pinnedNode(platform = process.platform, arch = process.arch) {
  const key = `${platform}-${arch}`;
  const integrity = NODE.integrity[key];
  if (!integrity) fail(`no Node build is pinned for ${key}`);
  const dir = join(root, 'node_modules', '.cache', 'acr-import', `node-v${NODE.version}-${key}`);
  const node = join(dir, 'bin', 'node');
  if (existsSync(node) && existsSync(join(dir, 'LICENSE'))) return { node, license: join(dir, 'LICENSE'), dir };
  const download = `${dir}.download-${process.pid}`;
  rmSync(download, { recursive: true, force: true });
  mkdirSync(download, { recursive: true });
  try {
    const pkg = `node-${key}@${NODE.version}`;
    // npm checks the tarball against the registry's integrity; the pin checks the registry.
    const pack = spawnSync('npm', ['pack', pkg, '--json', '--pack-destination', download], { cwd: download, encoding: 'utf8' });
    if (pack.status !== 0) fail(`npm pack ${pkg} failed (${pack.status ?? pack.signal}):\n${pack.stderr}`);
    const [packed] = JSON.parse(pack.stdout);
    if (packed.integrity !== integrity) fail(`${pkg} has integrity ${packed.integrity}, not the pinned ${integrity}`);
    const tar = spawnSync('tar', ['-xzf', join(download, packed.filename), '-C', download, '--strip-components=1', 'package/bin/node', 'package/LICENSE'], { encoding: 'utf8' });
    if (tar.status !== 0) fail(`unpacking ${packed.filename} failed:\n${tar.stderr}`);
    rmSync(join(download, packed.filename));
    const version = spawnSync(join(download, 'bin', 'node'), ['--version'], { encoding: 'utf8' }).stdout?.trim();
    if (version !== `v${NODE.version}`) fail(`${pkg}'s bin/node says ${version}, not v${NODE.version}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(download, dir);
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
  return { node, license: join(dir, 'LICENSE'), dir };
}

export async function buildBinary({ nodeBinary, nodeLicense, output = binaryPath() } = {}) {
  if (process.platform !== 'linux') fail(`only Linux is supported (this is ${process.platform})`);
  if (!nodeBinary) ({ node: nodeBinary, license: nodeLicense } = pinnedNode());
  // A node built as a thin launcher for a shared libnode (some distributions' packages) has no fuse.
  if (!readFileSync(nodeBinary).includes(`${SENTINEL_FUSE}:0`)) {
    fail(`${nodeBinary} cannot become a single executable: it has no unflipped ${SENTINEL_FUSE} (a shared-libnode build, or already a SEA). Use an official Node.js build.`);
  }

  const staging = join(dirname(output), `.sea-build-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const { metafile } = await buildCjs({ outfile: join(staging, 'acr-import.cjs') });

    // sea-config.json with this build's files, named relative to the staging directory: the blob
    // records the main script's name, and an absolute one would carry this machine's path.
    const config = { ...JSON.parse(readFileSync(join(root, 'sea-config.json'), 'utf8')), main: 'acr-import.cjs', output: 'sea-prep.blob' };
    writeFileSync(join(staging, 'sea-config.json'), JSON.stringify(config, null, 2));
    const prep = spawnSync(nodeBinary, ['--experimental-sea-config', 'sea-config.json'], { cwd: staging, encoding: 'utf8' });
    if (prep.status !== 0) fail(`node --experimental-sea-config failed (${prep.status ?? prep.signal}):\n${prep.stderr}${prep.stdout}`);

    const binary = join(staging, 'acr-import');
    copyFileSync(nodeBinary, binary);
    chmodSync(binary, 0o755);
    // postject's API (what `npx postject <bin> NODE_SEA_BLOB <blob> --sentinel-fuse …` calls).
    const { inject } = createRequire(import.meta.url)('postject');
    await inject(binary, 'NODE_SEA_BLOB', readFileSync(join(staging, config.output)), { sentinelFuse: SENTINEL_FUSE });

    // It must run by itself, with no node on PATH: a broken blob shows here, not on a user's machine.
    const check = spawnSync(binary, ['--version'], { cwd: staging, encoding: 'utf8', env: { PATH: '', HOME: staging } });
    if (check.status !== 0 || check.stderr) fail(`the built binary's --version failed (${check.status ?? check.signal}):\n${check.stderr}${check.stdout}`);

    // The notices and the SBOM: the bundled packages, and the Node runtime the binary is.
    const packages = bundledPackages(metafile);
    const nodeVersion = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/^v/, '');
    const runtime = { type: 'platform', 'bom-ref': `pkg:generic/node@${nodeVersion}`, name: 'node', version: nodeVersion, purl: `pkg:generic/node@${nodeVersion}`, description: 'Node.js runtime of the single executable' };
    const nodeNotice = nodeLicense ? [{ heading: `Node.js ${nodeVersion} (the runtime of this executable)`, text: readFileSync(nodeLicense, 'utf8') }] : [];
    writeFileSync(`${output}.THIRD-PARTY-LICENSES.txt`, thirdPartyLicenses(packages, nodeNotice));
    writeFileSync(`${output}.cdx.json`, cycloneDx(packages, { extraComponents: [runtime] }));
    renameSync(binary, output);
    return { output, version: check.stdout.trim(), node: nodeVersion, bytes: statSync(output).size };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv.includes('--fetch-node')) {
  // Only the download (npm test runs this first: its tests reach nothing beyond loopback).
  console.log(`Node ${NODE.version} for the single executable: ${relative(root, pinnedNode().node)}`);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const r = await buildBinary();
  console.log(`${relative(root, r.output)}: acr-import ${r.version} on Node ${r.node}, ${(r.bytes / 1024 / 1024).toFixed(1)} MiB, built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
