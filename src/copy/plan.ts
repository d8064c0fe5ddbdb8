// Planning: everything that can refuse an import is decided here, before one byte is written.
// Resolves the source, walks indexes (nested too), enforces the manifest and layer-size limits,
// and checks every target tag. Only reads.
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { AcrImportError } from '../errors.js';
import type { FetchedManifest, ManifestHead, ReadOnlyStorage } from '../content/storage.js';
import { digestProblem } from '../oci/digest.js';
import { isArtifactManifest, isForeignLayer, isIndexType, formatPlatform, type Descriptor, type Platform } from '../oci/media-types.js';
import type { EventSink } from './events.js';
import { notAnIndex, selectPlatforms } from './platforms.js';
import { planReferrers, type PlannedReferrer } from './referrers.js';
import { smallRequests } from './limits.js';
import type { TargetProbes } from './probes.js';

export interface ImportTarget {
  repository: string;
  /** Undefined for an untagged copy (`--repository`, or a digest source with no `-t`). */
  tag?: string;
}

export interface PlanOptions {
  sourceRepository: string;
  /** Tag or digest to import. */
  sourceReference: string;
  targets: ImportTarget[];
  force: boolean;
  /** Manifests an image may carry (ACR import: 50, for every import). */
  maxManifests: number;
  /** --max-layer-size: for every source when given; otherwise ACR's 2 GiB, for public sources only. */
  maxLayerSize?: number;
  /** Bytes of manifests one import may fetch (default {@link MANIFEST_BYTES_BUDGET}). */
  maxManifestBytes?: number;
  includeForeignLayers: boolean;
  /**
   * The target's existence checks: when given, each blob's is asked as soon as its manifest is
   * read (a read, so it may start before the plan is checked), and the plan hands them on to
   * execution.
   */
  probes?: TargetProbes;
  /** --platform: the platforms of an index to import (one: its manifest alone; several: a new index of them). */
  platforms?: Platform[];
  /** --include-referrers: also the artifacts that refer to the imported manifests, recursively. */
  includeReferrers?: boolean;
  /** --referrers-artifact-type: only referrers of these artifact types. */
  referrerArtifactTypes?: string[];
  /** --concurrency: manifest GETs run at twice that (small requests, see limits.ts). */
  concurrency: number;
  signal?: AbortSignal;
  onEvent?: EventSink;
}

export interface ManifestNode {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  platform?: Platform;
  /** Child manifests (indexes). */
  children: ManifestNode[];
  /** Config and layers (image manifests and artifacts), foreign layers included. */
  blobs: Descriptor[];
}

export type TargetAction = 'write' | 'unchanged' | 'move';

export interface TargetPlan extends ImportTarget {
  action: TargetAction;
  /** What the tag pointed at before, when it existed. */
  previous?: string;
}

export interface ImportPlan {
  /** The digest written to the target: the source's, or the selection's with --platform. */
  digest: string;
  mediaType: string;
  /** The source's own digest (differs from `digest` when --platform chose a subset). */
  sourceDigest: string;
  /** With --platform: the platforms imported, in the source's order. */
  platforms?: string[];
  /** With --include-referrers: the referrers to write after the image's manifests, each after its subject. */
  referrers: PlannedReferrer<ManifestNode>[];
  /** The root manifest, with its tree; absent when every target already has the image. */
  root?: ManifestNode;
  /** Every manifest, children before parents, each once. */
  manifests: ManifestNode[];
  /** Blobs to copy, each once, largest first (foreign layers only when included). */
  blobs: Descriptor[];
  /** Foreign layers left out. */
  foreign: Descriptor[];
  /** Manifests that count against the manifest limit (the image's; referrers are in `referrers`). */
  manifestCount: number;
  totalBytes: number;
  targets: TargetPlan[];
  /** The existence checks planning started, for execution to use. */
  probes?: TargetProbes;
}

/** The repositories a copy writes to: those whose tags it writes, and, when referrers follow, those whose tags are in place (they get the referrers they lack). */
export function repositoriesWritten(targets: readonly TargetPlan[], withReferrers: boolean): string[] {
  return [...new Set(targets.filter((t) => t.action !== 'unchanged' || withReferrers).map((t) => t.repository))];
}

/** Indexes nested deeper than this are refused: real images nest one or two levels. */
export const MAX_INDEX_DEPTH = 8;
/** ACR import's limits: 50 manifests per image from any source, 2 GiB per layer from public registries. */
export const ACR_MAX_MANIFESTS = 50;
export const ACR_PUBLIC_LAYER_LIMIT = 2 * 1024 ** 3;
/** Manifest bytes one import may fetch: 50 large manifests fit many times over; a flood of 4 MiB ones does not. */
export const MANIFEST_BYTES_BUDGET = 32 * 1024 ** 2;
/**
 * Registries that are public by purpose: ACR's "imported from public registries" covers them, with
 * or without credentials. Any other source counts as public when it was read anonymously.
 */
const PUBLIC_REGISTRIES = /^(docker\.io|ghcr\.io|quay\.io|gcr\.io|mcr\.microsoft\.com|registry\.k8s\.io|public\.ecr\.aws|nvcr\.io|registry\.gitlab\.com)$/i;

/** Why the source counts as a public registry for ACR's layer limit, or undefined when it does not. */
export function publicSourceReason(source: Pick<ReadOnlyStorage, 'name' | 'anonymous'>): string | undefined {
  if (PUBLIC_REGISTRIES.test(source.name)) return `${source.name} is a public registry`;
  if (source.anonymous) return `${source.name} was read anonymously, as a public registry is`;
  return undefined;
}

export async function planImport(source: ReadOnlyStorage, target: ReadOnlyStorage, o: PlanOptions): Promise<ImportPlan> {
  // Each request in flight listens on the signal: --concurrency above 10 is not a leak.
  if (o.signal) setMaxListeners(0, o.signal);
  // The source and the target tags are asked at once: two round trips become one.
  const resolving = resolveSource(source, o);
  // With --platform the digest to compare with the targets' is the selection's, known once the index is read.
  const selecting = o.platforms?.length ? resolving.then((h) => choosePlatforms(source, o, h)) : undefined;
  const digest = (selecting ?? resolving).then((h) => h.digest);
  const checking = checkTargets(target, o, digest);
  // Failures are reported when awaited below (the source's first); these keep Node from calling them unhandled meanwhile.
  digest.catch(() => undefined);
  checking.catch(() => undefined);
  const head = await resolving;
  o.onEvent?.({ type: 'resolved', reference: source.describe(o.sourceRepository, o.sourceReference), digest: head.digest, mediaType: head.mediaType });
  const selection = await selecting;
  const chosen = selection ?? { digest: head.digest, mediaType: head.mediaType, size: head.size };
  const targets = await checking;
  const summary = { digest: chosen.digest, mediaType: chosen.mediaType, sourceDigest: head.digest, ...(selection ? { platforms: selection.platforms } : {}) };

  // Every target already holds this exact image: nothing to fetch, nothing to write (referrers
  // may still be new: with them, the walk goes on and what is there already is skipped).
  if (targets.every((t) => t.action === 'unchanged') && !o.includeReferrers) {
    return { ...summary, referrers: [], manifests: [], blobs: [], foreign: [], manifestCount: 0, totalBytes: 0, targets };
  }

  // Manifests are small requests: twice --concurrency at a time (see limits.ts).
  const limit = pLimit(smallRequests(o.concurrency));
  // Asked of every repository execution may write to: referrers are not found yet, so those whose
  // tags are in place count when referrers are asked for.
  const repositories = repositoriesWritten(targets, Boolean(o.includeReferrers));
  const askAhead = (blobs: Descriptor[]) => {
    const probes = o.probes;
    if (!probes) return;
    for (const repository of repositories) for (const b of blobs) if (o.includeForeignLayers || !isForeignLayer(b)) void probes.blob(repository, b.digest);
  };
  const budget = new ManifestBudget(o, chosen.digest);
  const seen = new Map<string, Promise<ManifestNode>>();
  const fetchNode = (d: Pick<Descriptor, 'digest' | 'size' | 'platform'>, path: string[]): Promise<ManifestNode> => {
    const digest = d.digest;
    if (path.includes(digest)) {
      throw new AcrImportError('integrity', `The index ${path[path.length - 1]} refers to itself (directly or through ${path.length - 1} other indexes): ${digest}.`);
    }
    if (path.length > MAX_INDEX_DEPTH) {
      throw new AcrImportError('integrity', `Indexes nest more than ${MAX_INDEX_DEPTH} levels deep under ${path[0]}; refusing to walk further.`);
    }
    let node = seen.get(digest);
    if (!node) {
      node = limit(async () => {
        // A sibling's refusal stops the walk: children still queued are not fetched.
        budget.throwIfRefused();
        const m = await source.fetchManifest(o.sourceRepository, digest, o.signal);
        budget.fetched(m);
        return m;
      }).then((m) => toNode(m, d.platform, [...path, digest]));
      seen.set(digest, node);
    }
    return node;
  };
  const toNode = async (m: FetchedManifest, platform: Platform | undefined, path: string[]): Promise<ManifestNode> => {
    o.onEvent?.({ type: 'manifest-fetched', digest: m.digest, mediaType: m.mediaType, platform: platform ? formatPlatform(platform) : undefined });
    const node: ManifestNode = { digest: m.digest, mediaType: m.mediaType, bytes: m.bytes, platform, children: [], blobs: [] };
    const children = childDescriptors(m);
    if (children) {
      // Counted as they are found, before any is fetched: an index of 300 children costs one GET.
      budget.discovered(children);
      node.children = await Promise.all(children.map((d) => fetchNode(d, path)));
    } else {
      node.blobs = blobDescriptors(m);
      askAhead(node.blobs);
    }
    return node;
  };
  const refused = (err: unknown) => {
    throw budget.refusal ?? err;
  };
  // A several-platform selection is an index built here: walked from its bytes, never fetched.
  const root = await (selection?.manifest ? toNode(selection.manifest, undefined, [chosen.digest]) : fetchNode({ digest: chosen.digest, size: 0, platform: selection?.platform }, [])).catch(refused);

  const manifests = postOrder(root);
  // The limit counts the manifests an image carries: an index's children (at every level), or 1.
  const manifestCount = root.children.length ? manifests.length - 1 : 1;

  let referrers: PlannedReferrer<ManifestNode>[] = [];
  if (o.includeReferrers) {
    // An index built by --platform is new: nothing in the source refers to it.
    const subjects = manifests.filter((m) => m !== root || !selection?.manifest).map((m) => m.digest);
    if (selection && head.digest !== chosen.digest) {
      o.onEvent?.({ type: 'note', message: `Referrers of the source index ${head.digest} are not copied: --platform imports ${chosen.digest} in its place.` });
    }
    referrers = await planReferrers(source, subjects, new Set(manifests.map((m) => m.digest)), {
      repository: o.sourceRepository,
      artifactTypes: o.referrerArtifactTypes,
      signal: o.signal,
      onEvent: o.onEvent,
      walk: (d) => {
        budget.discovered([d]);
        return fetchNode(d, []);
      },
    }).catch(refused);
  }
  const layerLimit = layerSizeLimit(source, o.maxLayerSize);

  const unique = new Map<string, Descriptor>();
  for (const m of [...manifests, ...referrers.flatMap((r) => postOrder(r.node))]) for (const b of m.blobs) if (!unique.has(b.digest)) unique.set(b.digest, b);
  const all = [...unique.values()];
  const foreign = o.includeForeignLayers ? [] : all.filter(isForeignLayer);
  const blobs = all.filter((b) => o.includeForeignLayers || !isForeignLayer(b)).sort((a, b) => b.size - a.size);
  // Only what is copied counts: a foreign layer left out (old Windows bases run to several GiB) moves no bytes.
  const tooLarge = layerLimit && blobs.find((b) => b.size > layerLimit.bytes);
  if (layerLimit && tooLarge) {
    throw new AcrImportError('limit', `Layer ${tooLarge.digest} is ${formatBytes(tooLarge.size)}, over the ${formatBytes(layerLimit.bytes)} layer size limit: ${layerLimit.rule}.`, {
      hint: 'Change it with --max-layer-size if the target registry accepts larger layers.',
    });
  }
  return {
    ...summary,
    root,
    manifests,
    referrers,
    blobs,
    foreign,
    manifestCount,
    totalBytes: blobs.reduce((n, b) => n + b.size, 0),
    targets,
    probes: o.probes,
  };
}

/** --platform: the manifest or the new index to import in place of the source's index. */
async function choosePlatforms(source: ReadOnlyStorage, o: PlanOptions, head: { digest: string; mediaType: string }) {
  const where = source.describe(o.sourceRepository, o.sourceReference);
  const index = await source.fetchManifest(o.sourceRepository, head.digest, o.signal);
  if (!childDescriptors(index)) throw notAnIndex(where, index.mediaType);
  const s = selectPlatforms(index, o.platforms!, where);
  for (const a of s.attestationsLeftOut) {
    o.onEvent?.({ type: 'note', message: `Attestation manifest ${a.digest} is left out: one platform is imported as its manifest alone, with no index to hold it.` });
  }
  return s.kind === 'manifest'
    ? { digest: s.descriptor.digest, mediaType: s.descriptor.mediaType, size: s.descriptor.size, platform: s.descriptor.platform, platforms: s.platforms, manifest: undefined }
    : { digest: s.manifest.digest, mediaType: s.manifest.mediaType, size: s.manifest.size, platform: undefined, platforms: s.platforms, manifest: s.manifest };
}

async function resolveSource(source: ReadOnlyStorage, o: PlanOptions): Promise<ManifestHead> {
  // HEAD first: on Docker Hub a HEAD costs no pull, and an unchanged image needs nothing more.
  const head = await source.resolve(o.sourceRepository, o.sourceReference, o.signal);
  if (!head) {
    throw new AcrImportError('not-found', `${source.describe(o.sourceRepository, o.sourceReference)} was not found.`, {
      hint: source.name === 'docker.io' && !o.sourceRepository.includes('/') ? undefined : 'Check the repository, tag or digest, and that the credentials can read it.',
    });
  }
  if (o.sourceReference.includes(':') && head.digest !== o.sourceReference) {
    throw new AcrImportError('integrity', `${source.name} answered for ${o.sourceReference} with a different digest, ${head.digest}.`);
  }
  return head;
}

async function checkTargets(target: ReadOnlyStorage, o: PlanOptions, sourceDigest: Promise<string>): Promise<TargetPlan[]> {
  const plans = await Promise.all(
    o.targets.map(async (t): Promise<TargetPlan> => {
      // A tag can be asked before the source answers; an untagged copy is looked up by the digest.
      const existing = await target.resolve(t.repository, t.tag ?? (await sourceDigest), o.signal);
      const digest = await sourceDigest;
      if (!existing) return { ...t, action: 'write' };
      if (existing.digest === digest) return { ...t, action: 'unchanged', previous: existing.digest };
      return { ...t, action: 'move', previous: existing.digest };
    }),
  );
  const digest = await sourceDigest;
  const conflicts = plans.filter((p) => p.action === 'move');
  if (conflicts.length && !o.force) {
    const lines = conflicts.map((c) => `Tag ${c.repository}:${c.tag} already exists in target ${target.name} and points at ${c.previous}, not ${digest}.`);
    throw new AcrImportError('conflict', lines.join('\n'), { hint: 'Use --force to move the tag to the imported image. Nothing was written.' });
  }
  return plans;
}

function childDescriptors(m: FetchedManifest): Descriptor[] | undefined {
  const list = m.json.manifests;
  if (isIndexType(m.mediaType) || (Array.isArray(list) && !m.json.layers && !m.json.config)) {
    if (!Array.isArray(list)) throw new AcrImportError('integrity', `Index ${m.digest} has no 'manifests' list.`);
    return list.map((d) => checkDescriptor(d, m.digest));
  }
  return undefined;
}

function blobDescriptors(m: FetchedManifest): Descriptor[] {
  const out: Descriptor[] = [];
  if (m.json.config !== undefined) out.push(checkDescriptor(m.json.config, m.digest));
  // An image manifest lists `layers`; a legacy OCI artifact manifest lists `blobs`.
  const field = isArtifactManifest(m.mediaType) ? 'blobs' : 'layers';
  const list = m.json[field];
  if (list !== undefined) {
    if (!Array.isArray(list)) throw new AcrImportError('integrity', `Manifest ${m.digest} has a '${field}' field that is not a list.`);
    for (const l of list) out.push(checkDescriptor(l, m.digest));
  }
  return out;
}

function checkDescriptor(d: unknown, parent: string): Descriptor {
  const x = d as Partial<Descriptor> | null;
  if (!x || typeof x.digest !== 'string' || !Number.isSafeInteger(x.size) || (x.size as number) < 0 || typeof x.mediaType !== 'string') {
    throw new AcrImportError('integrity', `Manifest ${parent} holds a malformed descriptor: ${JSON.stringify(d)?.slice(0, 200)}.`);
  }
  // The rules a digest typed by a user follows: an md5 child is not fetched, let alone trusted.
  const problem = digestProblem(x.digest);
  if (problem) throw new AcrImportError('integrity', `Manifest ${parent} holds a descriptor with an invalid digest ${JSON.stringify(x.digest.slice(0, 200))}: ${problem}.`);
  return x as Descriptor;
}

/**
 * The manifest limits, checked while the graph is walked: children count as soon as their index
 * is read, before one of them is fetched, and the bytes of manifests fetched (or announced by
 * their descriptors) stay within a budget.
 */
class ManifestBudget {
  private readonly found = new Set<string>();
  /** Declared sizes of manifests found and not fetched yet. */
  private readonly announced = new Map<string, number>();
  private bytes = 0;
  refusal?: AcrImportError;

  constructor(
    private readonly o: Pick<PlanOptions, 'maxManifests' | 'maxManifestBytes'>,
    private readonly root: string,
  ) {}

  private get maxBytes(): number {
    return this.o.maxManifestBytes ?? MANIFEST_BYTES_BUDGET;
  }

  discovered(children: Descriptor[]): void {
    for (const c of children) {
      if (c.digest === this.root || this.found.has(c.digest)) continue;
      this.found.add(c.digest);
      this.announced.set(c.digest, c.size);
      this.bytes += c.size;
    }
    if (this.found.size > this.o.maxManifests) {
      const rule = this.o.maxManifests === ACR_MAX_MANIFESTS ? `ACR import's limit of ${ACR_MAX_MANIFESTS} manifests per image, for every import` : `the limit set with --max-manifests (ACR import's own is ${ACR_MAX_MANIFESTS}, for every import)`;
      this.refuse(`The image has at least ${this.found.size} manifests, more than ${this.o.maxManifests}: ${rule}. No child manifest beyond the limit was fetched.`, 'Raise it with --max-manifests if the target registry accepts more.');
    }
    this.checkBytes();
  }

  fetched(m: FetchedManifest): void {
    this.bytes += m.bytes.length - (this.announced.get(m.digest) ?? 0);
    this.announced.delete(m.digest);
    this.checkBytes();
  }

  throwIfRefused(): void {
    if (this.refusal) throw this.refusal;
  }

  private checkBytes(): void {
    if (this.bytes <= this.maxBytes) return;
    this.refuse(`The image's manifests come to more than ${formatBytes(this.maxBytes)} (${formatBytes(this.bytes)} fetched or announced), the budget for manifests in one import; refusing to fetch more.`);
  }

  private refuse(message: string, hint?: string): never {
    this.refusal ??= new AcrImportError('limit', message, { hint });
    throw this.refusal;
  }
}

/** The layer size limit for this source, and the rule it comes from; undefined when none applies. */
function layerSizeLimit(source: Parameters<typeof publicSourceReason>[0], flag: number | undefined): { bytes: number; rule: string } | undefined {
  if (flag !== undefined) return { bytes: flag, rule: 'the limit set with --max-layer-size, for every source' };
  const why = publicSourceReason(source);
  if (!why) return undefined;
  return { bytes: ACR_PUBLIC_LAYER_LIMIT, rule: `ACR import allows ${formatBytes(ACR_PUBLIC_LAYER_LIMIT)} per layer from public registries, and ${why}` };
}


function postOrder(root: ManifestNode): ManifestNode[] {
  const out: ManifestNode[] = [];
  const done = new Set<string>();
  const visit = (n: ManifestNode) => {
    if (done.has(n.digest)) return;
    done.add(n.digest);
    n.children.forEach(visit);
    out.push(n);
  };
  visit(root);
  return out;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
