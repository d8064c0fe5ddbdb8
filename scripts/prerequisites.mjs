#!/usr/bin/env node
// What the tests and the demo run besides Node: the Distribution registry, skopeo and openssl.
// Installs the missing ones with apt-get (Debian, Ubuntu), as root or through sudo; elsewhere, or
// when that fails, says how to install them and exits 1. `npm test` runs it first (pretest).
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** Command → Debian package. */
export const PREREQUISITES = { 'docker-registry': 'docker-registry', skopeo: 'skopeo', openssl: 'openssl' };

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v "${cmd}"`], { stdio: 'ignore' }).status === 0;
}

function run(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

/** Installs what is missing; returns the packages still missing (empty when all is there). */
export function ensurePrerequisites(wanted = PREREQUISITES, log = (line) => console.error(line)) {
  const missing = () => Object.entries(wanted).filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg);
  const packages = missing();
  if (!packages.length) return [];
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : have('sudo') ? ['sudo', '-n'] : undefined;
  if (have('apt-get') && sudo) {
    log(`Installing ${packages.join(', ')} with apt-get…`);
    if (run([...sudo, 'apt-get', 'update', '-qq'])) run([...sudo, 'apt-get', 'install', '-y', '-qq', ...packages]);
  }
  const left = missing();
  if (left.length) {
    log(`Missing: ${left.join(', ')}. The tests start real registries with these tools.`);
    log(`Install them (Debian/Ubuntu): sudo apt-get install -y ${left.join(' ')}`);
    log('Elsewhere: docker-registry is the CNCF Distribution registry (the "registry" binary, on PATH as docker-registry); skopeo and openssl from your package manager.');
  }
  return left;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = ensurePrerequisites().length ? 1 : 0;
}
