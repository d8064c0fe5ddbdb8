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
  /** The source's own digest. */
  sourceDigest: string;
  /** The digest written to the target: the source's, or a --platform selection's. */
  digest: string;
  mediaType: string;
  /** With --platform: the platforms imported; null without it. */
  platforms: string[] | null;
  /** With --include-referrers: the referrers copied (or to copy, on a dry run); null without it. */
  referrers: ReferrerSummary[] | null;
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

export interface ReferrerSummary {
  digest: string;
  mediaType: string;
  artifactType?: string;
  /** The manifest it refers to. */
  subject: string;
  /** A cosign tag it is copied under. */
  tag?: string;
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
  /** Whether --include-referrers was given (an empty list then says none were found). */
  includeReferrers?: boolean;
}): ImportSummary {
  const { plan, stats } = args;
  const manifests = plan.manifests.map((m) => ({ digest: m.digest, mediaType: m.mediaType, ...(m.platform ? { platform: formatPlatform(m.platform) } : {}) }));
  return {
    source: args.source,
    sourceDigest: plan.sourceDigest,
    digest: plan.digest,
    mediaType: plan.mediaType,
    platforms: plan.platforms ?? null,
    referrers: args.includeReferrers
      ? plan.referrers.map((r) => ({
          digest: r.descriptor.digest,
          mediaType: r.descriptor.mediaType,
          ...(r.descriptor.artifactType ? { artifactType: r.descriptor.artifactType } : {}),
          subject: r.subject,
          ...(r.tag ? { tag: r.tag } : {}),
        }))
      : null,
    target: args.target,
    targets: plan.targets.map((t) => ({
      reference: `${args.target}/${t.repository}${t.tag ? `:${t.tag}` : `@${plan.digest}`}`,
      action: t.action === 'unchanged' ? 'unchanged' : args.dryRun ? (t.action === 'move' ? 'would-move' : 'would-create') : t.action === 'move' ? 'moved' : 'created',
      ...(t.previous && t.action === 'move' ? { previous: t.previous } : {}),
    })),
    dryRun: args.dryRun,
    // With referrers, tags in place do not mean nothing was written: a new signature may have been.
    upToDate: plan.targets.every((t) => t.action === 'unchanged') && !(stats && (stats.manifestsPushed || stats.blobsUploaded || stats.blobsMounted)),
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
  // --platform writes another digest than the source's: say so, and give both.
  const as = s.digest !== s.sourceDigest ? ` as ${s.digest} (${s.platforms?.join(', ')} only: not the source's digest)` : '';
  if (s.dryRun) {
    c.info(`Plan: ${s.source} (${s.sourceDigest})${as}`);
    c.info(`  ${s.manifestCount} manifest(s)${platforms.length ? `: ${platforms.join(', ')}` : ''}; ${s.blobs.total} blob(s), ${formatBytes(s.totalBytes)}${s.blobs.foreignSkipped ? `; ${s.blobs.foreignSkipped} foreign layer(s) left out` : ''}`);
  }
  if (s.referrers) c.info(`  ${describeReferrers(s.referrers)}`);
  for (const t of s.targets) {
    const what = { created: 'created', moved: `moved from ${t.previous}`, unchanged: 'already up to date', 'would-create': 'would be created', 'would-move': `would move from ${t.previous}` }[t.action];
    c.info(`  ${t.reference}: ${what}`);
  }
  if (!s.dryRun && s.upToDate) {
    c.success(`${s.source} (${s.sourceDigest})${as} is already in ${s.target}; nothing to write.`);
  } else if (!s.dryRun) {
    const b = s.blobs;
    c.success(
      `${verb} ${s.source} (${s.sourceDigest})${as} into ${s.target}: ${s.manifestCount} manifest(s)${s.referrers?.length ? ` and ${s.referrers.length} referrer(s)` : ''}, ${b.copied} blob(s) copied (${formatBytes(s.bytesCopied)}), ${b.mounted} mounted, ${b.skipped} already present, in ${(s.durationMs / 1000).toFixed(1)} s.`,
    );
  }
  if (s.rateLimit?.remaining) c.info(`  Docker Hub pull limit: ${s.rateLimit.remaining} of ${s.rateLimit.limit ?? '?'} left.`);
}

/** `3 referrer(s): 2 application/vnd.cncf.notary.signature, 1 cosign tag`. */
function describeReferrers(list: ReferrerSummary[]): string {
  if (!list.length) return 'No referrers found.';
  const kinds = new Map<string, number>();
  for (const r of list) {
    const kind = r.tag ? 'cosign tag' : (r.artifactType ?? r.mediaType);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return `${list.length} referrer(s): ${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}`;
}
