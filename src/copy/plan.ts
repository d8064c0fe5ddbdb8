// Planning: everything that can refuse an import is decided here, before one byte is written.
// Resolves the source, walks indexes (nested too), enforces the manifest and layer-size limits,
// and checks every target tag. Only reads.
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { AcrImportError } from '../errors.js';
import type { FetchedManifest, ReadOnlyStorage } from '../content/storage.js';
import { isForeignLayer, isIndexType, formatPlatform, type Descriptor, type Platform } from '../registry/media-types.js';
import type { EventSink } from './events.js';

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
  maxManifests: number;
  maxLayerSize: number;
  includeForeignLayers: boolean;
  /** Concurrent manifest GETs. */
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
  digest: string;
  mediaType: string;
  /** The root manifest, with its tree; absent when every target already has the image. */
  root?: ManifestNode;
  /** Every manifest, children before parents, each once. */
  manifests: ManifestNode[];
  /** Blobs to copy, each once, largest first (foreign layers only when included). */
  blobs: Descriptor[];
  /** Foreign layers left out. */
  foreign: Descriptor[];
  /** Manifests that count against the manifest limit. */
  manifestCount: number;
  totalBytes: number;
  targets: TargetPlan[];
}

/** Indexes nested deeper than this are refused: real images nest one or two levels. */
export const MAX_INDEX_DEPTH = 8;

export async function planImport(source: ReadOnlyStorage, target: ReadOnlyStorage, o: PlanOptions): Promise<ImportPlan> {
  // Each request in flight listens on the signal: --concurrency above 10 is not a leak.
  if (o.signal) setMaxListeners(0, o.signal);
  // The source and the target tags are asked at once: two round trips become one.
  const resolving = resolveSource(source, o);
  const digest = resolving.then((h) => h.digest);
  const checking = checkTargets(target, o, digest);
  // Failures are reported when awaited below (the source's first); these keep Node from calling them unhandled meanwhile.
  digest.catch(() => undefined);
  checking.catch(() => undefined);
  const head = await resolving;
  o.onEvent?.({ type: 'resolved', reference: source.describe(o.sourceRepository, o.sourceReference), digest: head.digest, mediaType: head.mediaType });
  const targets = await checking;

  // Every target already holds this exact image: nothing to fetch, nothing to write.
  if (targets.every((t) => t.action === 'unchanged')) {
    return { digest: head.digest, mediaType: head.mediaType, manifests: [], blobs: [], foreign: [], manifestCount: 0, totalBytes: 0, targets };
  }

  const limit = pLimit(o.concurrency);
  const seen = new Map<string, Promise<ManifestNode>>();
  const fetchNode = (digest: string, platform: Platform | undefined, path: string[]): Promise<ManifestNode> => {
    if (path.includes(digest)) {
      throw new AcrImportError('integrity', `The index ${path[path.length - 1]} refers to itself (directly or through ${path.length - 1} other indexes): ${digest}.`);
    }
    if (path.length > MAX_INDEX_DEPTH) {
      throw new AcrImportError('integrity', `Indexes nest more than ${MAX_INDEX_DEPTH} levels deep under ${path[0]}; refusing to walk further.`);
    }
    let node = seen.get(digest);
    if (!node) {
      node = limit(() => source.fetchManifest(o.sourceRepository, digest, o.signal)).then((m) => toNode(m, platform, [...path, digest]));
      seen.set(digest, node);
    }
    return node;
  };
  const toNode = async (m: FetchedManifest, platform: Platform | undefined, path: string[]): Promise<ManifestNode> => {
    o.onEvent?.({ type: 'manifest-fetched', digest: m.digest, mediaType: m.mediaType, platform: platform ? formatPlatform(platform) : undefined });
    const node: ManifestNode = { digest: m.digest, mediaType: m.mediaType, bytes: m.bytes, platform, children: [], blobs: [] };
    const children = childDescriptors(m);
    if (children) {
      node.children = await Promise.all(children.map((d) => fetchNode(d.digest, d.platform, path)));
    } else {
      node.blobs = blobDescriptors(m);
    }
    return node;
  };
  const root = await fetchNode(head.digest, undefined, []);

  const manifests = postOrder(root);
  // The limit counts the manifests an image carries: an index's children (at every level), or 1.
  const manifestCount = root.children.length ? manifests.length - 1 : 1;
  if (manifestCount > o.maxManifests) {
    throw new AcrImportError('limit', `The image has ${manifestCount} manifests, more than the limit of ${o.maxManifests} (ACR import allows 50 per image).`, {
      hint: 'Raise it with --max-manifests if the target registry accepts more.',
    });
  }

  const unique = new Map<string, Descriptor>();
  for (const m of manifests) for (const b of m.blobs) if (!unique.has(b.digest)) unique.set(b.digest, b);
  const all = [...unique.values()];
  const foreign = o.includeForeignLayers ? [] : all.filter(isForeignLayer);
  const blobs = all.filter((b) => o.includeForeignLayers || !isForeignLayer(b)).sort((a, b) => b.size - a.size);
  // Only what is copied counts: a foreign layer left out (old Windows bases run to several GiB) moves no bytes.
  const tooLarge = blobs.find((b) => b.size > o.maxLayerSize);
  if (tooLarge) {
    throw new AcrImportError('limit', `Layer ${tooLarge.digest} is ${formatBytes(tooLarge.size)}, over the ${formatBytes(o.maxLayerSize)} layer size limit (ACR import allows 2 GiB from public registries).`, {
      hint: 'Raise it with --max-layer-size if the target registry accepts larger layers.',
    });
  }
  return {
    digest: head.digest,
    mediaType: head.mediaType,
    root,
    manifests,
    blobs,
    foreign,
    manifestCount,
    totalBytes: blobs.reduce((n, b) => n + b.size, 0),
    targets,
  };
}

async function resolveSource(source: ReadOnlyStorage, o: PlanOptions): Promise<{ digest: string; mediaType: string }> {
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
  if (m.json.layers !== undefined) {
    if (!Array.isArray(m.json.layers)) throw new AcrImportError('integrity', `Manifest ${m.digest} has a 'layers' field that is not a list.`);
    for (const l of m.json.layers) out.push(checkDescriptor(l, m.digest));
  }
  return out;
}

function checkDescriptor(d: unknown, parent: string): Descriptor {
  const x = d as Partial<Descriptor> | null;
  if (!x || typeof x.digest !== 'string' || !/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(x.digest) || typeof x.size !== 'number' || x.size < 0 || typeof x.mediaType !== 'string') {
    throw new AcrImportError('integrity', `Manifest ${parent} holds a malformed descriptor: ${JSON.stringify(d)?.slice(0, 200)}.`);
  }
  return x as Descriptor;
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
