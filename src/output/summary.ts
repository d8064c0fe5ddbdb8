// The end of an import, for people (text on stderr) and scripts (one json object on stdout).
import type { CopyStats } from '../copy/execute.js';
import type { ImportPlan } from '../copy/plan.js';
import { formatBytes } from '../copy/plan.js';
import { formatPlatform } from '../oci/media-types.js';
import type { Console } from './console.js';

export interface RateLimit {
  limit?: string;
  remaining?: string;
}

export interface ImportSummary {
  source: string;
  sourceDigest: string;
  mediaType: string;
  target: string;
  targets: { reference: string; action: 'created' | 'moved' | 'unchanged' | 'would-create' | 'would-move'; previous?: string }[];
  dryRun: boolean;
  /** Every target already held this exact image: nothing was fetched or written. */
  upToDate: boolean;
  /** Every manifest the run walked, children before parents, the root last; none on a no-op. */
  manifests: { digest: string; mediaType: string; platform?: string }[];
  /** manifests.length: one way of counting, the index(es) included. */
  manifestCount: number;
  blobs: { total: number; copied: number; mounted: number; skipped: number; foreignSkipped: number };
  bytesCopied: number;
  totalBytes: number;
  durationMs: number;
  /** Docker Hub's pull limit as last seen; null when the source sent none. */
  rateLimit: RateLimit | null;
}

export function buildSummary(args: {
  source: string;
  target: string;
  plan: ImportPlan;
  stats?: CopyStats;
  dryRun: boolean;
  durationMs: number;
  /** Docker Hub's pull limit as last seen; null when the source sent none. */
  rateLimit: RateLimit | null;
}): ImportSummary {
  const { plan, stats } = args;
  const manifests = plan.manifests.map((m) => ({ digest: m.digest, mediaType: m.mediaType, ...(m.platform ? { platform: formatPlatform(m.platform) } : {}) }));
  return {
    source: args.source,
    sourceDigest: plan.digest,
    mediaType: plan.mediaType,
    target: args.target,
    targets: plan.targets.map((t) => ({
      reference: `${args.target}/${t.repository}${t.tag ? `:${t.tag}` : `@${plan.digest}`}`,
      action: t.action === 'unchanged' ? 'unchanged' : args.dryRun ? (t.action === 'move' ? 'would-move' : 'would-create') : t.action === 'move' ? 'moved' : 'created',
      ...(t.previous && t.action === 'move' ? { previous: t.previous } : {}),
    })),
    dryRun: args.dryRun,
    upToDate: plan.targets.every((t) => t.action === 'unchanged'),
    manifests,
    manifestCount: manifests.length,
    blobs: {
      // Per target repository, like the counts below (a second repository mounts from the first).
      total: plan.blobs.length * new Set(plan.targets.filter((t) => t.action !== 'unchanged').map((t) => t.repository)).size,
      copied: stats?.blobsUploaded ?? 0,
      mounted: stats?.blobsMounted ?? 0,
      skipped: stats?.blobsSkipped ?? 0,
      foreignSkipped: plan.foreign.length,
    },
    bytesCopied: stats?.bytesUploaded ?? 0,
    totalBytes: plan.totalBytes,
    durationMs: args.durationMs,
    rateLimit: args.rateLimit ?? null,
  };
}

export function printSummary(c: Console, s: ImportSummary): void {
  const verb = s.dryRun ? 'Would import' : 'Imported';
  const platforms = s.manifests.filter((m) => m.platform).map((m) => m.platform);
  if (s.dryRun) {
    c.info(`Plan: ${s.source} (${s.sourceDigest})`);
    c.info(`  ${s.manifestCount} manifest(s)${platforms.length ? `: ${platforms.join(', ')}` : ''}; ${s.blobs.total} blob(s), ${formatBytes(s.totalBytes)}${s.blobs.foreignSkipped ? `; ${s.blobs.foreignSkipped} foreign layer(s) left out` : ''}`);
  }
  for (const t of s.targets) {
    const what = { created: 'created', moved: `moved from ${t.previous}`, unchanged: 'already up to date', 'would-create': 'would be created', 'would-move': `would move from ${t.previous}` }[t.action];
    c.info(`  ${t.reference}: ${what}`);
  }
  if (!s.dryRun && s.targets.every((t) => t.action === 'unchanged')) {
    c.success(`${s.source} (${s.sourceDigest}) is already in ${s.target}; nothing to write.`);
  } else if (!s.dryRun) {
    const b = s.blobs;
    c.success(
      `${verb} ${s.source} (${s.sourceDigest}) into ${s.target}: ${s.manifestCount} manifest(s), ${b.copied} blob(s) copied (${formatBytes(s.bytesCopied)}), ${b.mounted} mounted, ${b.skipped} already present, in ${(s.durationMs / 1000).toFixed(1)} s.`,
    );
  }
  if (s.rateLimit?.remaining) c.info(`  Docker Hub pull limit: ${s.rateLimit.remaining} of ${s.rateLimit.limit ?? '?'} left.`);
}
