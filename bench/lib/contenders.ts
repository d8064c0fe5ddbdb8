// How each contender is run: acr-import as a user runs it (the built CLI in a child process),
// skopeo with a cold blob-info cache, and the curl floor.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunningProxy } from '../../test/harness/index.js';
import { runChecked, type Measured } from './proc.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/** The CLI as a user runs it; BENCH_ACR_BIN points at another build (e.g. a copy of the tree before a change). */
export const ACR_IMPORT_BIN = process.env.BENCH_ACR_BIN ? resolve(process.env.BENCH_ACR_BIN) : join(ROOT, 'bin', 'acr-import.js');
/** BENCH_BASELINE_BIN: an earlier build, run as one more contender ('baseline'): before and after from the same run. */
export const BASELINE_BIN = process.env.BENCH_BASELINE_BIN ? resolve(process.env.BENCH_BASELINE_BIN) : undefined;

export interface CopyJob {
  /** host:port the contender reads from (a registry or a proxy in front of it). */
  sourceHost: string;
  targetHost: string;
  repo: string;
  tag: string;
  targetRepo: string;
}

export interface RequestCount {
  total: number;
  byMethod: Record<string, number>;
  /** Requests per proxy name ('source', 'target'). */
  byEndpoint: Record<string, number>;
}

export function countRequests(proxies: Record<string, RunningProxy>): RequestCount {
  const out: RequestCount = { total: 0, byMethod: {}, byEndpoint: {} };
  for (const [name, p] of Object.entries(proxies)) {
    for (const r of p.requests) {
      out.total++;
      out.byMethod[r.method] = (out.byMethod[r.method] ?? 0) + 1;
      out.byEndpoint[name] = (out.byEndpoint[name] ?? 0) + 1;
    }
  }
  return out;
}

export interface AcrImportResult extends Measured {
  summary?: { blobs?: { copied: number; mounted: number; skipped: number }; targets?: { action: string }[]; bytesCopied?: number };
}

export async function runAcrImport(job: CopyJob, o: { extraArgs: string[]; timeoutMs: number; cpuProfDir?: string; debug?: boolean; bin?: string; env?: Record<string, string> }): Promise<AcrImportResult> {
  const nodeArgs = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];
  if (o.cpuProfDir) mkdirSync(o.cpuProfDir, { recursive: true });
  const args = [
    ...nodeArgs,
    o.bin ?? ACR_IMPORT_BIN,
    '--name',
    job.targetHost,
    '--source',
    `${job.sourceHost}/${job.repo}:${job.tag}`,
    '-t',
    `${job.targetRepo}:${job.tag}`,
    '-o',
    'json',
    ...(o.debug ? ['--debug'] : []),
    ...o.extraArgs,
  ];
  const r: AcrImportResult = await runChecked(process.execPath, args, { env: { ...process.env, ...o.env, NO_COLOR: '1' }, timeoutMs: o.timeoutMs, maxOutput: o.debug ? 64 * 1024 * 1024 : undefined });
  try {
    r.summary = JSON.parse(r.stdout) as AcrImportResult['summary'];
  } catch {
    /* not fatal: the copy itself is verified separately */
  }
  return r;
}

/** Where skopeo 1.9 (containers/image) keeps its blob-info cache: as root, and rootless. */
export function skopeoCacheFiles(): string[] {
  const dataHome = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return ['/var/lib/containers/cache/blob-info-cache-v1.boltdb', join(dataHome, 'containers', 'cache', 'blob-info-cache-v1.boltdb')];
}

/** Deletes the blob-info cache, or skopeo would mount blobs it remembers from its previous run. */
export function clearSkopeoCache(): void {
  for (const f of skopeoCacheFiles()) if (existsSync(f)) rmSync(f, { force: true });
}

export async function runSkopeo(job: CopyJob, o: { timeoutMs: number }): Promise<Measured> {
  clearSkopeoCache();
  return runChecked(
    'skopeo',
    [
      'copy',
      '--all',
      '--preserve-digests',
      '--insecure-policy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${job.sourceHost}/${job.repo}:${job.tag}`,
      `docker://${job.targetHost}/${job.targetRepo}:${job.tag}`,
    ],
    { timeoutMs: o.timeoutMs },
  );
}

export async function skopeoVersion(): Promise<string> {
  return (await runChecked('skopeo', ['--version'], { rss: false })).stdout.trim();
}
