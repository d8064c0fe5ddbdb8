// What a sync tells: a line per image as it finishes and per entry when it is done (plain lines,
// readable in a CI log as on a terminal, on stderr), a summary table at the end, and with -o json
// one object on stdout with a record per entry (schema/sync-result.schema.json).
import { formatBytes } from '../../copy/plan.js';
import { errorJson } from '../../output/json-result.js';
import type { Console } from '../../output/console.js';
import type { ErrorKind } from '../../errors.js';
import type { HostLimit } from './rate-limit.js';

/** Raised when a field changes meaning or goes away; new fields do not raise it. */
export const SYNC_SCHEMA_VERSION = 1;

export type TagStatus = 'copied' | 'up-to-date' | 'failed' | 'skipped' | 'would-copy';

export interface TagResult {
  /** The tag, or the digest of an untagged copy. */
  tag: string;
  status: TagStatus;
  /** The source's digest, once known. */
  digest?: string;
  /** Bytes uploaded (a dry run: bytes that would be). */
  bytes: number;
  blobs: { copied: number; mounted: number; skipped: number };
  durationMs: number;
  /** Why it failed or was skipped. */
  error?: { kind: ErrorKind; message: string };
  /** For a skip because of a pull limit: when the pulls come back, at the latest. */
  retryAfter?: string;
}

export interface EntryResult {
  index: number;
  line: number;
  source: string;
  target: string;
  repository: string;
  /** What `tags` chose, as written. */
  selection: string;
  status: 'succeeded' | 'failed' | 'skipped';
  tags: TagResult[];
  counts: Record<'copied' | 'upToDate' | 'failed' | 'skipped' | 'wouldCopy', number>;
  bytes: number;
  durationMs: number;
  /** A failure of the whole entry (its tags could not be listed, its registry not reached). */
  error?: { kind: ErrorKind; message: string };
}

export interface SyncTotals {
  entries: number;
  succeeded: number;
  failed: number;
  skipped: number;
  tags: Record<'copied' | 'upToDate' | 'failed' | 'skipped' | 'wouldCopy', number>;
  bytes: number;
}

export interface SyncResult {
  file: string;
  dryRun: boolean;
  engine: 'client-side' | 'server-side';
  shard: { index: number; count: number } | null;
  entries: EntryResult[];
  totals: SyncTotals;
  pullLimits: { host: string; limit: number | null; remaining: number; resetBy: string | null }[];
  durationMs: number;
}

/** An error as a result records it: its kind and its redacted message. */
export function errorOf(err: unknown): { kind: ErrorKind; message: string } {
  const { kind, message } = errorJson(err).error;
  return { kind, message };
}

/** An entry's result from its images'; `whole` when the entry as a whole failed or was skipped. */
export function entryResult(base: Omit<EntryResult, 'status' | 'counts' | 'bytes'>, whole?: 'failed' | 'skipped'): EntryResult {
  const counts = { copied: 0, upToDate: 0, failed: 0, skipped: 0, wouldCopy: 0 };
  for (const t of base.tags) counts[t.status === 'up-to-date' ? 'upToDate' : t.status === 'would-copy' ? 'wouldCopy' : t.status]++;
  const failed = whole === 'failed' || counts.failed > 0;
  const skipped = !failed && (whole === 'skipped' || counts.skipped > 0);
  return { ...base, status: failed ? 'failed' : skipped ? 'skipped' : 'succeeded', counts, bytes: base.tags.reduce((n, t) => n + t.bytes, 0) };
}

export function totalsOf(entries: EntryResult[]): SyncTotals {
  const tags = { copied: 0, upToDate: 0, failed: 0, skipped: 0, wouldCopy: 0 };
  for (const e of entries) for (const k of Object.keys(tags) as (keyof typeof tags)[]) tags[k] += e.counts[k];
  return {
    entries: entries.length,
    succeeded: entries.filter((e) => e.status === 'succeeded').length,
    failed: entries.filter((e) => e.status === 'failed').length,
    skipped: entries.filter((e) => e.status === 'skipped').length,
    tags,
    bytes: entries.reduce((n, e) => n + e.bytes, 0),
  };
}

export function pullLimitsOf(states: HostLimit[]): SyncResult['pullLimits'] {
  return states.map((s) => ({ host: s.host, limit: s.limit ?? null, remaining: s.remaining, resetBy: s.resetBy?.toISOString() ?? null }));
}

/** `[2/5]`: entries are numbered from 1, in file order. */
function label(index: number, count: number): string {
  return `[${index + 1}/${count}]`;
}

export function entryName(e: Pick<EntryResult, 'source' | 'target' | 'repository'>): string {
  return `${e.source} → ${e.target}/${e.repository}`;
}

/** Live progress: one line per image as it ends, one per entry. */
export class SyncProgress {
  constructor(
    private readonly c: Console,
    private readonly count: number,
  ) {}

  entryStarted(index: number, name: string, tags: string[]): void {
    this.c.info(`${label(index, this.count)} ${name}: ${tags.length ? tags.join(', ') : 'no tags chosen'}`);
  }

  tagDone(index: number, repository: string, t: TagResult): void {
    const ref = t.tag.includes(':') ? `${repository}@${t.tag}` : `${repository}:${t.tag}`;
    const secs = `${(t.durationMs / 1000).toFixed(1)} s`;
    const line = `${label(index, this.count)}   ${ref}: `;
    switch (t.status) {
      case 'copied':
        this.c.info(`${line}copied, ${t.blobs.copied} blob(s) (${formatBytes(t.bytes)}), ${t.blobs.mounted} mounted, ${t.blobs.skipped} already there, ${secs}`);
        break;
      case 'up-to-date':
        this.c.info(`${line}up to date`);
        break;
      case 'would-copy':
        this.c.info(`${line}would copy ${formatBytes(t.bytes)} at most (${t.digest})`);
        break;
      case 'skipped':
        this.c.warn(`${line}skipped: ${t.error?.message ?? ''}`);
        break;
      case 'failed':
        this.c.info(this.c.paint.red(`${line}failed: ${t.error?.message ?? ''}`));
        break;
    }
  }

  entryDone(e: EntryResult): void {
    const what = e.error ? `${e.status}: ${e.error.message}` : describeCounts(e.counts);
    const line = `${label(e.index, this.count)} ${entryName(e)}: ${what} (${(e.durationMs / 1000).toFixed(1)} s)`;
    if (e.status === 'failed') this.c.info(this.c.paint.red(line));
    else if (e.status === 'skipped') this.c.warn(line);
    else this.c.success(line);
  }
}

function describeCounts(c: EntryResult['counts']): string {
  const parts = [c.copied && `${c.copied} copied`, c.upToDate && `${c.upToDate} up to date`, c.wouldCopy && `${c.wouldCopy} to copy`, c.failed && `${c.failed} failed`, c.skipped && `${c.skipped} skipped`].filter(Boolean);
  return parts.length ? parts.join(', ') : 'nothing to copy';
}

/** The summary table, then one line of totals. */
export function printSyncSummary(c: Console, r: SyncResult): void {
  const header = ['#', 'entry', 'tags', r.dryRun ? 'to copy' : 'copied', 'up to date', 'failed', 'skipped', 'bytes', 'time'];
  const rows = r.entries.map((e) => [
    String(e.index + 1),
    entryName(e),
    String(e.tags.length),
    String(r.dryRun ? e.counts.wouldCopy : e.counts.copied),
    String(e.counts.upToDate),
    String(e.counts.failed + (e.status === 'failed' && !e.tags.length ? 1 : 0)),
    String(e.counts.skipped + (e.status === 'skipped' && !e.tags.length ? 1 : 0)),
    formatBytes(e.bytes),
    `${(e.durationMs / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (cells: string[]) => cells.map((cell, i) => (i === 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  c.info('');
  c.info(format(header));
  for (const row of rows) c.info(format(row));
  const t = r.totals;
  const verb = r.dryRun ? 'Planned' : 'Synced';
  const line = `${verb} ${t.entries} entr${t.entries === 1 ? 'y' : 'ies'}${r.shard ? ` (shard ${r.shard.index}/${r.shard.count})` : ''}: ${t.succeeded} succeeded, ${t.failed} failed, ${t.skipped} skipped; tags: ${describeCounts(t.tags)}; ${formatBytes(t.bytes)} ${r.dryRun ? 'at most to copy' : 'copied'} in ${(r.durationMs / 1000).toFixed(1)} s.`;
  if (t.failed || t.skipped) c.warn(line);
  else c.success(line);
  for (const p of r.pullLimits) c.info(`  Pull limit of ${p.host}: ${p.remaining}${p.limit !== null ? ` of ${p.limit}` : ''} left${p.resetBy ? `; back by ${p.resetBy} at the latest` : ''}.`);
}

export function syncResultJson(r: SyncResult): Record<string, unknown> {
  return { schemaVersion: SYNC_SCHEMA_VERSION, ok: r.totals.failed === 0 && r.totals.skipped === 0, command: 'sync', ...r };
}
