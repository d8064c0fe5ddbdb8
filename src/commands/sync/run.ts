// `acr-import sync FILE`: every entry of a sync file in one process. Tags are chosen per entry
// (listing the source's tags only when a regex, a range or `all` asks for it), then each image is
// planned and copied by the same engine as an import, with one transport, one sign-in per
// registry, one limiter for every blob transfer of the run, and one target per registry that
// copies a shared blob once and mounts it elsewhere. An image already in place costs HEADs only.
import { AcrImportError } from '../../errors.js';
import { executePlan } from '../../copy/execute.js';
import { smallRequests, transferLimits, type TransferLimits } from '../../copy/limits.js';
import { TargetProbes } from '../../copy/probes.js';
import { ACR_MAX_MANIFESTS, planImport, type ImportTarget, type PlanOptions } from '../../copy/plan.js';
import { parsePlatforms } from '../../copy/platforms.js';
import { formatReference } from '../../oci/reference.js';
import type { Transport } from '../../transport/http.js';
import type { Console } from '../../output/console.js';
import type { SyncConfig, SyncEntry } from './config.js';
import { entriesOfShard, type Shard } from './shard.js';
import { describeSelector, needsTagList, selectTags } from './select-tags.js';
import { PullLimitReached, type PullBudget } from './rate-limit.js';
import { Scheduler, isStopped } from './schedule.js';
import { SharedTarget } from './shared-target.js';
import type { SyncSides } from './sides.js';
import { SyncProgress, entryResult, errorOf, pullLimitsOf, totalsOf, type EntryResult, type SyncResult, type TagResult } from './report.js';

export interface SyncRunOptions {
  shard?: Shard;
  dryRun: boolean;
  failFast: boolean;
  /** Blob transfers in flight across the whole run. */
  concurrency: number;
  /** Images planned or copied at once. */
  parallel: number;
}

export interface SyncEngine {
  sides: SyncSides;
  transport: Transport;
  budget: PullBudget;
  console: Console;
  signal: AbortSignal;
  /** How one image is copied: here (the default), or by ACR itself (server-side.ts). */
  copy?: ImageCopier;
  engine?: SyncResult['engine'];
}

/** What copying one image came to (the tag and time are added by the caller). */
export type ImageOutcome = Omit<TagResult, 'tag' | 'durationMs'>;

/** Copies one image of an entry: `tag` is the source tag, undefined for an untagged digest. */
export type ImageCopier = (entry: SyncEntry, tag: string | undefined, signal: AbortSignal) => Promise<ImageOutcome>;

/** Runs the entries of this shard; never throws for one entry's failure (the results say it). */
export async function syncEntries(config: SyncConfig, o: SyncRunOptions, e: SyncEngine): Promise<SyncResult> {
  const started = Date.now();
  const entries = entriesOfShard(config.entries, o.shard);
  const scheduler = new Scheduler(o.parallel, o.failFast, e.signal);
  const limits = transferLimits(o.concurrency);
  const progress = new SyncProgress(e.console, config.entries.length);
  if (o.shard) e.console.info(`Shard ${o.shard.index}/${o.shard.count}: ${entries.length} of ${config.entries.length} entries.`);
  const results = await Promise.all(entries.map((entry) => syncEntry(entry, { ...o, limits, scheduler, progress }, e)));
  return {
    file: config.file,
    dryRun: o.dryRun,
    engine: e.engine ?? 'client-side',
    shard: o.shard ?? null,
    entries: results,
    totals: totalsOf(results),
    pullLimits: pullLimitsOf(e.budget.states()),
    durationMs: Date.now() - started,
  };
}

interface EntryContext extends SyncRunOptions {
  limits: TransferLimits;
  scheduler: Scheduler;
  progress: SyncProgress;
}

async function syncEntry(entry: SyncEntry, o: EntryContext, e: SyncEngine): Promise<EntryResult> {
  const started = Date.now();
  const base = { index: entry.index, line: entry.line, source: formatReference({ ...entry.source, tag: undefined, digest: undefined }), target: entry.target, repository: entry.repository, selection: describeSelector(entry.tags) };
  const whole = (status: 'failed' | 'skipped', err: unknown) => {
    const r = entryResult({ ...base, tags: [], durationMs: Date.now() - started, error: errorOf(err) }, status);
    if (status === 'failed') o.scheduler.failed(base.source);
    o.progress.entryDone(r);
    return r;
  };
  let tags: (string | undefined)[];
  try {
    const chosen = await o.scheduler.run(async (signal) => {
      if (!needsTagList(entry.tags)) return selectTags(entry.tags, []);
      const side = await e.sides.source(entry.source);
      return selectTags(entry.tags, await side.client.listTags(entry.source.repository, { signal }));
    });
    if (isStopped(chosen)) return whole('skipped', new AcrImportError('interrupted', chosen.reason));
    // A digest without a tag is one untagged copy.
    tags = entry.tags.kind === 'digest' && !chosen.length ? [undefined] : chosen;
  } catch (err) {
    if (e.signal.aborted) throw err;
    return whole('failed', err);
  }
  o.progress.entryStarted(entry.index, `${base.source} → ${entry.target}/${entry.repository}`, tags.map((t) => t ?? (entry.tags as { digest: string }).digest));
  const results = await Promise.all(
    tags.map(async (tag): Promise<TagResult> => {
      const label = tag ?? (entry.tags.kind === 'digest' ? entry.tags.digest : '');
      const t0 = Date.now();
      const done = (r: Omit<TagResult, 'durationMs' | 'tag' | 'bytes' | 'blobs'> & Partial<TagResult>): TagResult => {
        const full: TagResult = { tag: label, bytes: 0, blobs: { copied: 0, mounted: 0, skipped: 0 }, durationMs: Date.now() - t0, ...r };
        o.progress.tagDone(entry.index, entry.repository, full);
        return full;
      };
      try {
        const r = await o.scheduler.run((signal) => (e.copy ? e.copy(entry, tag, signal) : copyImage(entry, tag, o, e, signal)));
        if (isStopped(r)) return done({ status: 'skipped', error: { kind: 'interrupted', message: r.reason } });
        return done(r);
      } catch (err) {
        if (e.signal.aborted) throw err;
        if (err instanceof PullLimitReached) return done({ status: 'skipped', error: errorOf(err), ...(err.state.resetBy ? { retryAfter: err.state.resetBy.toISOString() } : {}) });
        o.scheduler.failed(`${entry.repository}:${label}`);
        return done({ status: 'failed', error: errorOf(err) });
      }
    }),
  );
  const r = entryResult({ ...base, tags: results, durationMs: Date.now() - started });
  o.progress.entryDone(r);
  return r;
}

/** One image: planned (HEADs first: an image in place costs nothing more), then copied. */
async function copyImage(entry: SyncEntry, tag: string | undefined, o: EntryContext, e: SyncEngine, signal: AbortSignal): Promise<ImageOutcome> {
  const [source, target] = await Promise.all([e.sides.source(entry.source), e.sides.target(entry.target)]);
  const shared = new SharedTarget(target.storage, target.ledger);
  const reference = sourceReferenceOf(entry, tag);
  const targets = targetsOf(entry, tag);
  try {
    const plan = await planImport(source.storage, shared, {
      sourceRepository: entry.source.repository,
      sourceReference: reference,
      targets,
      force: entry.force,
      maxManifests: entry.maxManifests ?? ACR_MAX_MANIFESTS,
      maxLayerSize: entry.maxLayerSize,
      includeForeignLayers: entry.includeForeignLayers,
      concurrency: o.concurrency,
      signal,
      probes: o.dryRun ? undefined : new TargetProbes(shared, smallRequests(o.concurrency), signal),
      ...selectionOf(entry),
    });
    const blobs = { copied: 0, mounted: 0, skipped: 0 };
    const inPlace = plan.targets.every((t) => t.action === 'unchanged');
    if (inPlace && !plan.referrers.length) return { status: 'up-to-date', digest: plan.digest, bytes: 0, blobs };
    if (o.dryRun) return { status: 'would-copy', digest: plan.digest, bytes: plan.totalBytes, blobs };
    const stats = await executePlan(source.storage, shared, plan, { sourceRepository: entry.source.repository, concurrency: o.concurrency, limits: o.limits, transport: e.transport, signal });
    // The engine counts a blob mounted from another image's repository as already present.
    const mounted = stats.blobsMounted + shared.counts.mounted;
    // Tags in place, and every referrer already there too: nothing was written.
    const wrote = stats.manifestsPushed + stats.tagsPushed + stats.blobsUploaded + mounted > 0;
    if (inPlace && !wrote) return { status: 'up-to-date', digest: plan.digest, bytes: 0, blobs };
    return { status: 'copied', digest: plan.digest, bytes: stats.bytesUploaded, blobs: { copied: stats.blobsUploaded, mounted, skipped: stats.blobsSkipped - shared.counts.mounted } };
  } finally {
    shared.release();
  }
}

/** Where one image of an entry goes: its repository, tagged as the source (or as `repository` says), or untagged. */
export function targetsOf(entry: SyncEntry, tag: string | undefined): ImportTarget[] {
  const targetTag = entry.targetTag ?? tag;
  return [targetTag === undefined ? { repository: entry.repository } : { repository: entry.repository, tag: targetTag }];
}

/** The reference an image of an entry is read by: its digest, or the tag. */
export function sourceReferenceOf(entry: SyncEntry, tag: string | undefined): string {
  return entry.tags.kind === 'digest' ? entry.tags.digest : tag!;
}

/** The entry's `platforms` and `referrers`, as the planner takes them (import's --platform, --include-referrers). */
function selectionOf(entry: SyncEntry): Pick<PlanOptions, 'platforms' | 'includeReferrers' | 'referrerArtifactTypes'> {
  return { platforms: parsePlatforms(entry.platforms), includeReferrers: entry.referrers, referrerArtifactTypes: entry.referrerArtifactTypes };
}
