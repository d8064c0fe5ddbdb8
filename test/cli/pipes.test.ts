// `acr-import --help | head -3`: a reader that goes away is not a crash. Run through real pipes,
// for the npm bin (bin/acr-import.js on the ESM bundle) and for the CommonJS bundle the single
// executable runs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, expectNoStack } from '../import/helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'acr-import-pipes-'));
const cjs = join(work, 'acr-import.cjs');

beforeAll(async () => {
  const { buildCjs } = (await import(pathToFileURL(join(root, 'scripts', 'build-bundle.mjs')).href)) as { buildCjs(o: { outfile: string }): Promise<unknown> };
  await buildCjs({ outfile: cjs });
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const entries = [
  ['the npm bin', join(root, 'bin', 'acr-import.js')],
  ['the single-executable bundle', cjs],
] as const;

/**
 * Runs `node <entry> args` with one of its streams a pipe whose reader has already gone: the shell
 * waits until the read end is closed, then starts the CLI. The other stream goes to a file.
 */
function withClosedPipe(entry: string, args: string[], closed: 'stdout' | 'stderr'): Promise<{ code: number | null; other: string }> {
  const otherFile = join(work, `other-${Math.random().toString(36).slice(2)}`);
  const redirect = closed === 'stdout' ? `2>"${otherFile}"` : `>"${otherFile}"`;
  const script = `sleep 0.3; exec "${process.execPath}" "$0" "$@" ${redirect}`;
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, entry, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    child[closed].destroy();
    (closed === 'stdout' ? child.stderr : child.stdout).resume();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, other: readFileSync(otherFile, 'utf8') }));
  });
}

describe.each(entries)('a closed pipe, %s', (_name, entry) => {
  it('`--help | head -3` prints three lines and ends quietly (exit 0 under pipefail)', () => {
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${entry}" --help | head -3`], { env: cleanEnv(), encoding: 'utf8' });
    expect(r.stdout).toMatch(/^Usage: acr-import/);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('help into a pipe nobody reads: exit 0, no EPIPE stack trace', async () => {
    for (const args of [['--help'], ['import', '--help'], ['completion', 'bash']]) {
      const r = await withClosedPipe(entry, args, 'stdout');
      expect(r.other, args.join(' ')).toBe('');
      expect(r.code, args.join(' ')).toBe(0);
    }
  });

  it('errors into a closed stderr keep their own exit code (2 for usage), not a crash', async () => {
    const r = await withClosedPipe(entry, ['--source', 'x', '-o', 'json'], 'stderr');
    expect(r.code).toBe(2);
    // stdout, still open, got the error object.
    expect(JSON.parse(r.other)).toMatchObject({ ok: false, error: { exitCode: 2, kind: 'usage' } });
    expectNoStack(r.other);
  });
});
