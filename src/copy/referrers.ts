// --include-referrers: the artifacts that refer to the imported manifests (signatures, SBOMs,
// attestations), found from the root and every child, and from each referrer in turn (a
// signature of an SBOM). Each is walked like an image (its blobs, its children) and counted in
// the same limits. Sources list them by the referrers API or its tag schema (the storage
// decides); cosign's `sha256-<hex>.sig`/`.att`/`.sbom` tags are looked up by name and copied as tags.
import { AcrImportError } from '../errors.js';
import type { ReadOnlyStorage } from '../content/storage.js';
import { COSIGN_SUFFIXES, referrerDescriptor, referrersTag, subjectOf, withArtifactTypes } from '../content/referrers.js';
import type { Descriptor } from '../oci/media-types.js';
import type { EventSink } from './events.js';

/** Referrers of referrers are followed this deep: a signature of an SBOM of an image is 2. */
export const MAX_REFERRER_DEPTH = 8;

/** `N` is the engine's manifest tree (plan.ts's ManifestNode); only its bytes are read here. */
export interface PlannedReferrer<N extends { bytes: Buffer } = { bytes: Buffer }> {
  /** The manifest it refers to. */
  subject: string;
  /** As its subject lists it: artifactType and annotations. */
  descriptor: Descriptor;
  /** Its manifest tree (an index referrer has children). */
  node: N;
  /** A cosign tag (`sha256-<hex>.sig`), copied as a tag; undefined for a referrer by `subject`. */
  tag?: string;
}

export interface ReferrerWalk<N extends { bytes: Buffer }> {
  repository: string;
  artifactTypes?: readonly string[];
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Counts the manifests against the limits, then fetches and walks one (shared with the image's walk). */
  walk(d: Descriptor): Promise<N>;
}

/**
 * Every referrer of `subjects`, breadth first: each after its subject, each once (a referrer
 * found twice, or one that is a manifest of the image, is not walked again; a cycle ends there).
 */
export async function planReferrers<N extends { bytes: Buffer }>(source: ReadOnlyStorage, subjects: readonly string[], known: ReadonlySet<string>, w: ReferrerWalk<N>): Promise<PlannedReferrer<N>[]> {
  if (!source.referrers) {
    w.onEvent?.({ type: 'note', message: `${source.name} cannot hold referrers (signatures, SBOMs); none are copied from it.` });
    return [];
  }
  const seen = new Set([...known, ...subjects]);
  const planned: PlannedReferrer<N>[] = [];
  let level = [...subjects];
  for (let depth = 0; level.length && depth < MAX_REFERRER_DEPTH; depth++) {
    const fresh: Omit<PlannedReferrer, 'node'>[] = [];
    for (const r of (await Promise.all(level.map((s) => referrersOf(source, s, w)))).flat()) {
      if (seen.has(r.descriptor.digest)) continue;
      seen.add(r.descriptor.digest);
      fresh.push(r);
    }
    level = fresh.map((r) => r.descriptor.digest);
    const walked = await Promise.all(fresh.map(async (r) => ({ ...r, node: await walkListed(r, w) })));
    for (const { node, ...r } of walked) {
      if (!node) continue;
      if (r.tag || subjectOf({ json: JSON.parse(node.bytes.toString('utf8')) as Record<string, unknown> }) === r.subject) planned.push({ ...r, node });
      else w.onEvent?.({ type: 'note', message: `${r.descriptor.digest} is listed as a referrer of ${r.subject} but its subject is another manifest; not copied.` });
    }
  }
  return planned;
}

/**
 * A listed referrer's tree; undefined, with a note, when the manifest is gone: a tag-schema
 * index is written by clients, and outlives a signature deleted since.
 */
async function walkListed<N extends { bytes: Buffer }>(r: Omit<PlannedReferrer, 'node'>, w: ReferrerWalk<N>): Promise<N | undefined> {
  try {
    return await w.walk(r.descriptor);
  } catch (err) {
    if (!(err instanceof AcrImportError && err.kind === 'not-found')) throw err;
    w.onEvent?.({ type: 'note', message: `Referrer ${r.descriptor.digest} of ${r.subject} is listed but not in the source; left out.` });
    return undefined;
  }
}

/** The referrers of one manifest: by subject (API or tag schema), then cosign's tags. */
async function referrersOf(source: ReadOnlyStorage, subject: string, w: ReferrerWalk<{ bytes: Buffer }>): Promise<Omit<PlannedReferrer, 'node'>[]> {
  const bySubject = await source.referrers!(w.repository, subject, { artifactTypes: w.artifactTypes, signal: w.signal });
  const out: Omit<PlannedReferrer, 'node'>[] = bySubject.map((descriptor) => ({ subject, descriptor }));
  const tags = await Promise.all(
    COSIGN_SUFFIXES.map(async (suffix) => {
      const tag = `${referrersTag(subject)}.${suffix}`;
      const head = await source.resolve(w.repository, tag, w.signal);
      if (!head) return undefined;
      // The artifact type a cosign manifest would be listed under, for --referrers-artifact-type.
      const descriptor = referrerDescriptor(await source.fetchManifest(w.repository, head.digest, w.signal));
      return withArtifactTypes([descriptor], w.artifactTypes).length ? { subject, descriptor, tag } : undefined;
    }),
  );
  for (const t of tags) if (t) out.push(t);
  return out;
}
