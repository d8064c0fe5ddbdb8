// Child processes, timed from spawn to exit, with their peak resident set size.
//
// Peak RSS and CPU come from GNU time (`/usr/bin/time -f '%M %U %S'`, the kernel's rusage of the
// child and whatever it waited for) when it is installed; otherwise /proc/<pid>/status is polled
// for VmHWM, the kernel's own high-water mark, and /proc/<pid>/stat for user + system time, which
// only miss the last polling interval.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const GNU_TIME = '/usr/bin/time';

export interface Measured {
  wallMs: number;
  /** When the child was spawned (epoch ms), to compare with the times proxies record. */
  startedAt: number;
  /** Peak RSS in bytes; undefined when it could not be measured. */
  peakRss?: number;
  rssMethod: 'gnu-time' | 'vmhwm-poll' | 'none';
  /** User + system CPU time of the child in ms: steadier than wall time on a busy machine. */
  cpuMs?: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Measure peak RSS (default true). */
  rss?: boolean;
  /** Keep at most this much of each output stream (the tail). */
  maxOutput?: number;
}

let scratch: string | undefined;
function scratchDir(): string {
  if (!scratch) {
    scratch = mkdtempSync(join(tmpdir(), 'acr-import-bench-proc-'));
    process.once('exit', cleanupProcScratch);
  }
  return scratch;
}
export function cleanupProcScratch(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

let gnuTimeWorks: boolean | undefined;
function haveGnuTime(): boolean {
  if (gnuTimeWorks === undefined) gnuTimeWorks = existsSync(GNU_TIME) && process.env.BENCH_RSS !== 'poll';
  return gnuTimeWorks;
}

export function rssMethod(): Measured['rssMethod'] {
  return haveGnuTime() ? 'gnu-time' : existsSync('/proc/self/status') ? 'vmhwm-poll' : 'none';
}

let seq = 0;

export async function runMeasured(cmd: string, args: string[], o: RunOptions = {}): Promise<Measured> {
  const wantRss = o.rss !== false;
  const useTime = wantRss && haveGnuTime();
  const rssFile = useTime ? join(scratchDir(), `rss-${process.pid}-${++seq}`) : undefined;
  const [file, argv] = useTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', rssFile!, cmd, ...args]] : [cmd, args];
  const max = o.maxOutput ?? 256 * 1024;
  let stdout = '';
  let stderr = '';
  const startedAt = Date.now();
  const started = performance.now();
  const child = spawn(file, argv, { env: o.env ?? process.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    if (stdout.length > max) stdout = stdout.slice(-max);
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
    if (stderr.length > max) stderr = stderr.slice(-max);
  });
  let hwm = 0;
  let polledCpu = 0;
  let poller: NodeJS.Timeout | undefined;
  if (wantRss && !useTime && child.pid) {
    const dir = `/proc/${child.pid}`;
    const poll = async () => {
      const text = await readFile(`${dir}/status`, 'utf8').catch(() => '');
      const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(text);
      if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
      const cpu = statCpuMs(await readFile(`${dir}/stat`, 'utf8').catch(() => ''));
      if (cpu !== undefined) polledCpu = Math.max(polledCpu, cpu);
    };
    poller = setInterval(() => void poll(), 20);
  }
  const timer = o.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), o.timeoutMs) : undefined;
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const wallMs = performance.now() - started;
  if (timer) clearTimeout(timer);
  if (poller) clearInterval(poller);
  let peakRss: number | undefined;
  let cpuMs: number | undefined;
  if (rssFile) {
    // GNU time prints "Command exited with non-zero status N" before the figures on failures.
    const text = existsSync(rssFile) ? readFileSync(rssFile, 'utf8') : '';
    const lines = text.trim().split('\n');
    const [kib, user, sys] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
    if (kib !== undefined && Number.isFinite(kib) && kib > 0) peakRss = kib * 1024;
    if (user !== undefined && sys !== undefined && Number.isFinite(user + sys)) cpuMs = Math.round((user + sys) * 1000);
    rmSync(rssFile, { force: true });
  } else if (hwm > 0) {
    peakRss = hwm;
    cpuMs = polledCpu || undefined;
  }
  return { wallMs, startedAt, peakRss, cpuMs, rssMethod: !wantRss ? 'none' : useTime ? 'gnu-time' : hwm ? 'vmhwm-poll' : 'none', code, signal, stdout, stderr };
}

/** Runs a command and throws with its output when it fails. */
export async function runChecked(cmd: string, args: string[], o: RunOptions = {}): Promise<Measured> {
  const r = await runMeasured(cmd, args, o);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code ?? r.signal}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`);
  }
  return r;
}

/** User + system CPU ms in a /proc/<pid>/stat line: utime and stime, fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux). */
export function statCpuMs(stat: string): number | undefined {
  const f = stat.split(') ')[1]?.split(' ');
  return f ? (Number(f[11]) + Number(f[12])) * 10 : undefined;
}

/** CPU ms a running process has used so far. */
export function processCpuMs(pid: number): number {
  return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'))!;
}
