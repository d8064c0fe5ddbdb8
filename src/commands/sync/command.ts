// The sync command: read and check the file (nothing runs if any entry is wrong), open one
// transport and one Azure session for the run, sync the entries, then the summary and -o json.
// Some entries failing is not the run failing: the others still run, and the exit code says it.
import { text } from 'node:stream/consumers';
import { readFile } from 'node:fs/promises';
import { AcrImportError, usageError } from '../../errors.js';
import type { AuthMode } from '../../auth/keychain.js';
import { connectionsPerHost } from '../../copy/limits.js';
import { jsonText } from '../../output/json-result.js';
import { createTransport, type CommandContext, type ConnectionRequest } from '../context.js';
import { RegistryAccess } from '../registry-access.js';
import { allTagsConfig, parseSyncConfig, type SyncConfig } from './config.js';
import type { Shard } from './shard.js';
import { PullBudget } from './rate-limit.js';
import { SyncSides } from './sides.js';
import { syncEntries } from './run.js';
import { printSyncSummary, syncResultJson } from './report.js';

/** `sync FILE`, as src/cli/requests.ts makes it from the flags. */
export interface SyncRequest {
  /** The sync file; '-' is standard input. */
  file: string;
  /** --target: replaces the file's default target. */
  target?: string;
  output: 'text' | 'json';
  dryRun: boolean;
  failFast: boolean;
  shard?: Shard;
  /** Blob transfers in flight across the run. */
  concurrency: number;
  /** Images planned or copied at once. */
  parallel: number;
  /** Pulls left unspent where a registry reports a limit. */
  rateLimitReserve: number;
  /** Each image imported by ACR itself (ARM importImage). */
  serverSide: boolean;
  /** `import --all-tags`: one entry made from import's flags instead of a file (`target` is --name). */
  allTags?: Omit<Parameters<typeof allTagsConfig>[0], 'target'>;
  sourceAuthMode: AuthMode;
  targetAuthMode: AuthMode;
  subscription?: string;
  connection: ConnectionRequest;
}

/** The exit code says some entries failed or were skipped; the results have been printed already. */
export class SyncIncomplete extends AcrImportError {
  readonly reported = true;
}

async function readSyncFile(file: string, stdin: NodeJS.ReadableStream | undefined, target?: string): Promise<SyncConfig> {
  let body: string;
  try {
    body = file === '-' ? await text(stdin ?? process.stdin) : await readFile(file, 'utf8');
  } catch (err) {
    throw usageError(`Cannot read the sync file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}.`);
  }
  return parseSyncConfig(body, file, { target });
}

export async function runSync(o: SyncRequest, ctx: CommandContext): Promise<void> {
  const c = ctx.console;
  const checked = o.allTags ? allTagsConfig({ ...o.allTags, target: o.target! }) : await readSyncFile(o.file, ctx.stdin, o.target);
  const transport = createTransport(o.connection, ctx, { connectionsPerHost: connectionsPerHost(o.concurrency) });
  const budget = new PullBudget(o.rateLimitReserve);
  transport.observe({ onResponse: (req, res) => budget.observe(new URL(req.url).host, res.headers) });
  const registries = new RegistryAccess({ transport, env: ctx.env, console: c, cloud: o.connection.cloud, subscription: o.subscription, signal: ctx.signal });
  const sides = new SyncSides({ registries, console: c, env: ctx.env, budget, sourceAuthMode: o.sourceAuthMode, targetAuthMode: o.targetAuthMode });
  let result;
  try {
    c.info(`Syncing ${checked.entries.length} entr${checked.entries.length === 1 ? 'y' : 'ies'} from ${checked.file}${o.dryRun ? ' (dry run)' : ''}`);
    const engine = o.serverSide
      ? { engine: 'server-side' as const, copy: (await import('./server-side.js')).serverSideCopier(await registries.azure(), { dryRun: o.dryRun, env: ctx.env }) }
      : {};
    result = await syncEntries(checked, { shard: o.shard, dryRun: o.dryRun, failFast: o.failFast, concurrency: o.concurrency, parallel: o.parallel }, { sides, transport, budget, console: c, signal: ctx.signal, ...engine });
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
