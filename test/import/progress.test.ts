// Progress as people see it: a spinner with a line per large blob on an interactive terminal (a
// real pseudo-terminal, through `script`), and plain lines in CI, always on stderr.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { faults, pushImage, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { cleanEnv, cli, expectExit } from './helpers.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/acr-import.js', import.meta.url).pathname;
const open = inject('openRegistry');
const LARGE = 20 * 1024 * 1024;

async function imageWithLargeLayer() {
  const repo = uniqueRepo('progress');
  const image = await pushImage(open, repo, 'v1', { kind: 'image', layers: [{ size: LARGE }, { size: 1000 }] });
  const large = image.blobs.find((b) => b.size > LARGE / 2)!;
  return { repo, image, short: large.digest.slice('sha256:'.length, 'sha256:'.length + 12) };
}

describe('progress', () => {
  it('on a terminal: a spinner, a line for the large blob with bytes and rate, the summary', async () => {
    const { repo, short } = await imageWithLargeLayer();
    // Slow the large blob down so the spinner turns a few times.
    const source = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'blob' && q.method === 'GET' && q.reference?.includes(short) ? faults.delay(600) : undefined) }));
    const command = `stty cols 120 rows 40; "${process.execPath}" "${BIN}" --name ${open.host} --source ${source.host}/${repo}:v1 -t ${uniqueRepo('progress-dst')}:v1`;
    const env = cleanEnv({ TERM: 'xterm-256color' });
    const { stdout: screen } = await run('script', ['-qfec', command, '/dev/null'], { env });
    expect(screen).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/); // ora's spinner frames
    expect(screen).toMatch(/Copying [\d.]+ \w?i?B of 20\.\d MiB/);
    expect(screen).toMatch(new RegExp(`${short} [\\d.]+ \\w?i?B / 20\\.\\d MiB [\\d.]+ \\w?i?B/s`));
    expect(screen).toMatch(/Imported .* 3 blob\(s\) copied/);
  });

  it('in CI: plain lines on stderr for each step, nothing on stdout', async () => {
    const { repo, short } = await imageWithLargeLayer();
    const r = await cli(['--name', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${uniqueRepo('progress-dst')}:v1`], { env: cleanEnv({ CI: 'true' }) });
    expectExit(r, 0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`blob ${short} 20.0 MiB: started`);
    expect(r.stderr).toMatch(new RegExp(`blob ${short} 20\\.0 MiB: (uploaded|mounted)`));
    expect(r.stderr).toMatch(/: tagged/);
    expect(r.stderr).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
  });
});
