// The sync command: read and check the file (nothing runs if any entry is wrong), open one
// transport and one Azure session for the run, sync the entries, then the summary and -o json.
// Some entries failing is not the run failing: the others still run, and the exit code says it.
import { text } from 'node:stream/consumers';
import { readFile } from 'node:fs/promises';
import { AcrImportError, usageError } from '../../errors.js';
import { chooseCloud } from '../../providers/azure/cloud.js';
import { AzureSession, type AuthMode } from '../../providers/azure/session.js';
import { Transport } from '../../transport/http.js';
import { skipTlsVerifyHosts } from '../../cli/skip-tls-verify.js';
import { jsonText } from '../../output/json-result.js';
import { USER_AGENT } from '../../version.js';
import type { RunContext } from '../import.js';
import { parseSyncConfig, type SyncConfig } from './config.js';
import { parseShard } from './shard.js';
import { PullBudget } from './rate-limit.js';
import { SyncSides } from './sides.js';
import { syncEntries } from './run.js';
import { printSyncSummary, syncResultJson } from './report.js';

export interface SyncOptions {
  /** --target: replaces the file's default target. */
  target?: string;
  output: 'text' | 'json';
  dryRun?: boolean;
  failFast?: boolean;
  shard?: string;
  concurrency: string;
  parallel: string;
  rateLimitReserve: string;
  sourceAuthMode?: AuthMode;
  targetAuthMode?: AuthMode;
  subscription?: string;
  insecureRegistry: string[];
  skipTlsVerify: string[];
  cloud?: string;
  timeout: string;
  retries: string;
  debug?: boolean;
}

/** The exit code says some entries failed or were skipped; the results have been printed already. */
export class SyncIncomplete extends AcrImportError {
  readonly reported = true;
}

export async function readSyncFile(file: string, stdin: NodeJS.ReadableStream | undefined, target?: string): Promise<SyncConfig> {
  let body: string;
  try {
    body = file === '-' ? await text(stdin ?? process.stdin) : await readFile(file, 'utf8');
  } catch (err) {
    throw usageError(`Cannot read the sync file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}.`);
  }
  return parseSyncConfig(body, file, { target });
}

export async function runSync(file: string, o: SyncOptions, ctx: RunContext, config?: SyncConfig): Promise<void> {
  const c = ctx.console;
  const concurrency = wholeNumber(o.concurrency, '--concurrency', 1);
  const parallel = wholeNumber(o.parallel, '--parallel', 1);
  const reserve = wholeNumber(o.rateLimitReserve, '--rate-limit-reserve', 0);
  const shard = o.shard === undefined ? undefined : parseShard(o.shard);
  const cloud = chooseCloud(o.cloud, ctx.env);
  const timeoutMs = wholeNumber(o.timeout, '--timeout', 1) * 1000;
  const retries = wholeNumber(o.retries, '--retries', 0);
  const checked = config ?? (await readSyncFile(file, ctx.stdin, o.target));

  const transport = new Transport({
    userAgent: USER_AGENT,
    insecureRegistries: o.insecureRegistry,
    skipTlsVerify: skipTlsVerifyHosts(o.skipTlsVerify ?? [], cloud, ctx.env, c),
    timeoutMs,
    retry: { maxAttempts: retries + 1 },
    connectionsPerHost: Math.max(16, concurrency * 2),
    debug: o.debug ? (line) => c.debug(line) : undefined,
  });
  const budget = new PullBudget(reserve);
  transport.observe({ onResponse: (req, res) => budget.observe(new URL(req.url).host, res.headers) });
  const azure = new AzureSession({ transport, env: ctx.env, console: c, cloud, subscription: o.subscription, signal: ctx.signal });
  const sides = new SyncSides({ transport, azure, console: c, env: ctx.env, budget, sourceAuthMode: o.sourceAuthMode, targetAuthMode: o.targetAuthMode });
  let result;
  try {
    c.info(`Syncing ${checked.entries.length} entr${checked.entries.length === 1 ? 'y' : 'ies'} from ${checked.file}${o.dryRun ? ' (dry run)' : ''}`);
    result = await syncEntries(checked, { shard, dryRun: Boolean(o.dryRun), failFast: Boolean(o.failFast), concurrency, parallel }, { sides, transport, budget, console: c, signal: ctx.signal });
  } finally {
    await sides.close(!ctx.signal.aborted && !o.dryRun, ctx.signal).finally(() => transport.close().catch(() => undefined));
  }
  printSyncSummary(c, result);
  if (o.output === 'json') ctx.stdout.write(jsonText(syncResultJson(result)));
  const { failed, skipped, entries } = result.totals;
  if (failed || skipped) {
    throw new SyncIncomplete('partial', `${failed} of ${entries} entr${entries === 1 ? 'y' : 'ies'} failed${skipped ? ` and ${skipped} ${skipped === 1 ? 'was' : 'were'} skipped` : ''}; the others were synced.`, {
      hint: 'Run the same command again to retry what did not sync: what is in place costs only HEAD requests.',
    });
  }
}

function wholeNumber(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!String(value).trim() || !Number.isInteger(n) || n < min) throw usageError(`${flag} must be a whole number of at least ${min}, not '${value}'.`);
  return n;
}
