// `npm test` on a fresh machine: the pretest step installs docker-registry, skopeo and openssl with
// apt-get when they are missing, and where it cannot, says how. Missing tools are simulated with a
// PATH that has only a shell; apt-get and sudo are stand-ins that record their arguments (the
// machine's own packages stay as they are).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const script = join(root, 'scripts', 'prerequisites.mjs');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** A bin directory with sh and the given scripts, and nothing else. */
function binDir(scripts: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'acr-import-prereq-'));
  symlinkSync(spawnSync('sh', ['-c', 'command -v sh'], { encoding: 'utf8' }).stdout.trim(), join(dir, 'sh'));
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

const chmod = spawnSync('sh', ['-c', 'command -v chmod'], { encoding: 'utf8' }).stdout.trim();

function runScript(dir: string) {
  return spawnSync(process.execPath, [script], { env: { PATH: dir, HOME: dir }, encoding: 'utf8' });
}

describe('scripts/prerequisites.mjs (npm pretest)', () => {
  it('runs before the tests, and before the build', () => {
    expect(pkg.scripts.pretest).toMatch(/^node scripts\/prerequisites\.mjs && /);
  });

  it('installs what is missing with apt-get, non-interactively', () => {
    // apt-get "installs" by creating the commands it was asked for; sudo runs what follows -n.
    const dir = binDir({
      'apt-get': `echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "$HOME/apt.log"
[ "$1" = install ] && for p in "$@"; do case "$p" in -*|install) ;; *) printf '#!/bin/sh\\n' > "$HOME/$p"; ${chmod} +x "$HOME/$p" ;; esac; done
exit 0`,
      sudo: '[ "$1" = -n ] && shift; exec "$@"',
    });
    const r = runScript(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('Installing docker-registry, skopeo, openssl with apt-get');
    const log = readFileSync(join(dir, 'apt.log'), 'utf8').trim().split('\n');
    expect(log[0]).toMatch(/^apt-get update -qq /);
    expect(log[1]).toBe('apt-get install -y -qq docker-registry skopeo openssl DEBIAN_FRONTEND=noninteractive');
    for (const tool of ['docker-registry', 'skopeo', 'openssl']) expect(existsSync(join(dir, tool))).toBe(true);
    // Run again: nothing missing, nothing installed.
    const again = runScript(dir);
    expect(again.status).toBe(0);
    expect(readFileSync(join(dir, 'apt.log'), 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('without apt-get: exit 1 and a message saying how to install them', () => {
    const r = runScript(binDir());
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Missing: docker-registry, skopeo, openssl');
    expect(r.stderr).toContain('sudo apt-get install -y docker-registry skopeo openssl');
  });
});
