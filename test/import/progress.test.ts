// Progress as people see it: a spinner with a line per large blob on an interactive terminal (a
// real pseudo-terminal, through `script`), plain lines in CI, always on stderr; colours only where
// wanted; what signals print.
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { request } from 'undici';
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

/** Runs the CLI on a pseudo-terminal (`script`), 120 columns, and returns what the terminal got. */
async function onTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const command = `stty cols 120 rows 40; "${process.execPath}" "${BIN}" ${args.map((a) => `'${a}'`).join(' ')}`;
  const { stdout } = await run('script', ['-qfec', command, '/dev/null'], { env });
  return stdout;
}

/** An environment for a colour terminal, without the NO_COLOR that cleanEnv sets. */
function terminalEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = cleanEnv({ TERM: 'xterm-256color', ...extra });
  if (!('NO_COLOR' in extra)) delete env.NO_COLOR;
  return env;
}

/** SGR sequences: colours, bold, dim. Cursor hiding (ESC[?25l) is not colour. */
const COLOUR = /\x1b\[[0-9;]*m/;

/**
 * A source whose large blob trickles in (512 KiB every 50 ms): the registry redirects the blob GET
 * here, as registries do to storage, and this server streams the registry's own bytes slowly.
 */
async function tricklingSource(digest: string, repo: string) {
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await request(`${open.url}/v2/${repo}/blobs/${digest}`);
      const bytes = Buffer.from(await upstream.body.arrayBuffer());
      res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
      for (let at = 0; at < bytes.length && !req.destroyed; at += 512 * 1024) {
        res.write(bytes.subarray(at, at + 512 * 1024));
        await sleep(50);
      }
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const cdn = `http://127.0.0.1:${(server.address() as AddressInfo).port}/blob`;
  const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'blob' && q.method === 'GET' && q.reference === digest ? faults.redirect(cdn) : undefined) }));
  return { proxy, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('progress on a terminal: what the headline counts, and colours', () => {
  it('the headline counts the bytes of blobs in flight, not only finished ones', async () => {
    const { repo, image } = await imageWithLargeLayer();
    const large = image.blobs.find((b) => b.size > LARGE / 2)!;
    const source = await tricklingSource(large.digest, repo);
    try {
      const screen = await onTerminal(['--name', open.host, '--source', `${source.proxy.host}/${repo}:v1`, '-t', `${uniqueRepo('progress-inflight')}:v1`], terminalEnv());
      const copied = [...screen.matchAll(/Copying ([\d.]+) MiB of 20\.0 MiB/g)].map((m) => Number(m[1]));
      // Part of the large blob is counted while it is still coming in.
      expect(copied.some((mib) => mib >= 1 && mib < 19.5), screen.slice(-2000)).toBe(true);
      expect(screen).toMatch(/Imported .* 3 blob\(s\) copied/);
    } finally {
      await source.close();
    }
  });

  it('colours by default; none at all with NO_COLOR, FORCE_COLOR=0 or TERM=dumb (spinner and summary included)', async () => {
    const { repo } = await imageWithLargeLayer();
    const args = () => ['--name', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${uniqueRepo('progress-colour')}:v1`];
    const coloured = await onTerminal(args(), terminalEnv());
    expect(coloured).toMatch(COLOUR);
    for (const extra of [{ NO_COLOR: '1' }, { FORCE_COLOR: '0' }, { TERM: 'dumb' }] as Record<string, string>[]) {
      const screen = await onTerminal(args(), terminalEnv(extra));
      expect(screen, JSON.stringify(extra)).toMatch(/Imported /);
      expect(screen, JSON.stringify(extra)).not.toMatch(COLOUR);
    }
    // A warning is coloured too, and -q leaves warnings out: errors only.
    const warned = await onTerminal([...args(), '--no-wait'], terminalEnv({ NO_COLOR: '1' }));
    expect(warned).toMatch(/Warning: --no-wait/);
    const quiet = await onTerminal([...args(), '--no-wait', '-q'], terminalEnv());
    expect(quiet.trim()).toBe('');
  });
});

describe('signals', () => {
  async function interrupted(signal: NodeJS.Signals): Promise<string> {
    const repo = uniqueRepo('progress-signal');
    const image = await pushImage(open, repo, 'v1', { kind: 'image', layers: [{ size: 2 * 1024 * 1024 }] });
    const big = image.blobs.find((b) => b.size >= 2 * 1024 * 1024)!.digest;
    const source = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'blob' && q.method === 'GET' && q.reference === big ? faults.delay(10_000) : undefined) }));
    const child = spawn(process.execPath, [BIN, '--name', open.host, '--source', `${source.host}/${repo}:v1`, '-t', `${uniqueRepo('progress-signal-dst')}:v1`], { env: cleanEnv({ CI: '1' }) });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/blob .*: started/.test(stderr) || /Importing/.test(stderr)) setTimeout(() => child.kill(signal), 500).unref();
    });
    await new Promise((r) => child.on('close', r));
    return stderr;
  }

  it('SIGTERM stops without "press again" (that is for a person pressing Ctrl-C)', async () => {
    const term = await interrupted('SIGTERM');
    expect(term).toMatch(/SIGTERM received: cancelling uploads and stopping\./);
    expect(term).not.toMatch(/press again/);
    const int = await interrupted('SIGINT');
    expect(int).toMatch(/SIGINT received: .*press again to quit at once/);
  });
});
