// Execution of a checked plan: blobs (skipped, mounted or streamed), then each child manifest by
// digest once its blobs are in, then indexes after their children, then referrers (each after
// its subject), then tags, last of all. A failure anywhere leaves no tag pointing at an
// incomplete image.
import pLimit from 'p-limit';
import { setMaxListeners } from 'node:events';
import type { ReadOnlyStorage, ReferrerIndexing, Storage, UploadSession } from '../content/storage.js';
import { isForeignLayer, type Descriptor } from '../oci/media-types.js';
import type { Transport } from '../transport/http.js';
import { isRetryable, type RetryBudget } from '../transport/retry.js';
import type { BlobOutcome, EventSink } from './events.js';
import { repositoriesWritten, type ImportPlan, type ManifestNode } from './plan.js';
import type { PlannedReferrer } from './referrers.js';
import { foreignLayerStream, type ForeignLayerPolicy } from './foreign-layers.js';
import { SMALL_BLOB, smallRequests, transferLimits, type TransferLimits } from './limits.js';
import { TargetProbes } from './probes.js';

export interface ExecuteOptions {
  sourceRepository: string;
  /** Parallel transfers of large blobs; small requests run at twice that (see limits.ts). */
  concurrency: number;
  /** Limiters shared with other copies (sync: one budget for every image); default: this copy's own. */
  limits?: TransferLimits;
  transport: Transport;
  /** Which hosts foreign layers may come from besides public https ones. */
  foreignLayers?: ForeignLayerPolicy;
  signal?: AbortSignal;
  onEvent?: EventSink;
}

export interface CopyStats {
  blobsUploaded: number;
  blobsMounted: number;
  blobsSkipped: number;
  foreignSkipped: number;
  bytesUploaded: number;
  manifestsPushed: number;
  manifestsSkipped: number;
  tagsPushed: number;
  tagsUnchanged: number;
  /** Referrers written or found in place, per target repository. */
  referrers: number;
}

export async function executePlan(source: ReadOnlyStorage, target: Storage, plan: ImportPlan, o: ExecuteOptions): Promise<CopyStats> {
  const stats: CopyStats = { blobsUploaded: 0, blobsMounted: 0, blobsSkipped: 0, foreignSkipped: plan.foreign.length, bytesUploaded: 0, manifestsPushed: 0, manifestsSkipped: 0, tagsPushed: 0, tagsUnchanged: 0, referrers: 0 };
  const emit = o.onEvent ?? (() => undefined);
  for (const f of plan.foreign) emit({ type: 'note', message: `Foreign layer ${f.digest} (${f.mediaType}) is not copied; the manifest still refers to it at ${f.urls?.[0] ?? 'its URLs'}. Use --include-foreign-layers to copy it.` });
  if (!plan.root) {
    for (const t of plan.targets) {
      stats.tagsUnchanged++;
      emit({ type: 'tag-pushed', repository: t.repository, tag: t.tag ?? plan.digest, digest: plan.digest, skipped: true });
    }
    return stats;
  }
  const root = plan.root;
  const limits = o.limits ?? transferLimits(o.concurrency);
  const limitFor = (b: Descriptor) => (b.size <= SMALL_BLOB && !isForeignLayer(b) ? limits.small : limits.large);
  // A separate limiter for manifests: a manifest task waits on blob tasks, and sharing one limiter could deadlock.
  const manifestLimit = pLimit(smallRequests(o.concurrency));
  // Existence checks (HEADs) run ahead of the transfers on their own limiter: a transfer slot is
  // held only while bytes move. Planning may have asked them already.
  const probes = plan.probes ?? new TargetProbes(target, smallRequests(o.concurrency), o.signal);
  // A repository whose tags are in place still gets referrers it lacks.
  const repositories = repositoriesWritten(plan.targets, plan.referrers.length > 0);
  const copyable = new Set(plan.blobs.map((b) => b.digest));
  const taggedRepositories = new Set(plan.targets.filter((t) => t.action !== 'unchanged' && t.tag).map((t) => t.repository));
  // A repository that gets a tag receives the root's bytes with the tag, at the end: sending them
  // by digest too would send them twice. Unless referrers follow: their subject goes in first.
  const rootGoesWithTag = (m: ManifestNode, repository: string) => m === root && taggedRepositories.has(repository) && !plan.referrers.length;
  const queue = transferOrder(plan);

  // Abort the other transfers as soon as one fails, so the error surfaces quickly.
  const failFast = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, failFast.signal]) : failFast.signal;
  // Every request in flight listens on this signal: more than Node's default of 10 is expected, not a leak.
  setMaxListeners(0, signal);
  const failing = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      failFast.abort(err);
      throw err;
    });

  const perRepo = async (repository: string, first: string | undefined) => {
    const blobDone = new Map<string, Promise<void>>();
    const blobThere = new Map<string, Promise<boolean>>();
    // Transfers join their limiter in transfer order (largest first, then image by image), whatever
    // order the checks answer in: each waits for the one before it to have joined.
    let joined: Promise<unknown> = Promise.resolve();
    for (const b of queue) {
      // One retry budget for everything this transfer sends (see transport/retry.ts).
      const budget = o.transport.retry.budget();
      const present = failing(probes.blob(repository, b.digest));
      present.catch(() => undefined); // awaited below; failFast reports it meanwhile
      blobThere.set(b.digest, present);
      // Wrapped in an object: the transfer's promise joins the queue now and is awaited later.
      const turn = joined.then(() => present).then((there) => ({ done: there ? skipBlob(b, repository) : limitFor(b)(() => copyBlob(b, repository, first, budget)) }));
      joined = turn.catch(() => undefined);
      blobDone.set(b.digest, failing(turn.then((t) => t.done)));
    }
    // Manifests already there are not sent again (a re-run sends only what is missing).
    const manifestThere = new Map<string, Promise<boolean>>();
    const isThere = (m: ManifestNode): Promise<boolean> => {
      let there = manifestThere.get(m.digest);
      if (!there) {
        there = failing(manifestInTarget(m));
        there.catch(() => undefined); // awaited in pushManifest; failFast reports it meanwhile
        manifestThere.set(m.digest, there);
      }
      return there;
    };
    // A registry takes a manifest only once what it refers to is in the repository: a manifest
    // with a blob (or an index with a child) the target lacks cannot be there, and is not asked
    // for. A registry that checks nothing gets identical bytes again at worst.
    const manifestInTarget = async (m: ManifestNode): Promise<boolean> => {
      const parts = [...m.blobs.map((b) => blobThere.get(b.digest)).filter((p) => p !== undefined), ...m.children.map(isThere)];
      if ((await Promise.all(parts)).includes(false)) return false;
      signal.throwIfAborted();
      return probes.manifest(repository, m.digest);
    };
    // The image's manifests are settled now, after the blobs' checks; a referrer's when it comes to it.
    for (const m of plan.manifests) if (!rootGoesWithTag(m, repository)) isThere(m);
    const manifestDone = new Map<string, Promise<void>>();
    const pushManifest = (m: ManifestNode): Promise<void> => {
      let done = manifestDone.get(m.digest);
      if (!done) {
        done = (async () => {
          await Promise.all([...m.blobs.filter((b) => copyable.has(b.digest)).map((b) => blobDone.get(b.digest)), ...m.children.map(pushManifest)]);
          if (rootGoesWithTag(m, repository)) return;
          if (await isThere(m)) {
            stats.manifestsSkipped++;
            emit({ type: 'manifest-pushed', digest: m.digest, repository, skipped: true });
            return;
          }
          await manifestLimit(() => putManifest(repository, m));
        })();
        manifestDone.set(m.digest, done);
      }
      return done;
    };
    await Promise.all([...blobDone.values(), pushManifest(root)]);
    // Referrers after the image's manifests and before its tags, each after its subject.
    const written = new Map<string, Promise<void>>();
    for (const r of plan.referrers) {
      const after = written.get(r.subject) ?? Promise.resolve();
      written.set(r.descriptor.digest, after.then(() => writeReferrer(repository, r, pushManifest)));
    }
    await Promise.all(written.values());
  };

  const writeReferrer = async (repository: string, r: PlannedReferrer<ManifestNode>, pushManifest: (m: ManifestNode) => Promise<void>) => {
    await pushManifest(r.node);
    signal.throwIfAborted();
    let how: ReferrerIndexing | 'tag' | 'stored' = 'stored';
    if (r.tag) {
      // Cosign finds its signatures by this tag: it is copied as the source has it.
      if ((await target.resolve(repository, r.tag, signal))?.digest !== r.node.digest) {
        await target.tag(repository, r.tag, { digest: r.node.digest, bytes: r.node.bytes, mediaType: r.node.mediaType }, signal);
      }
      how = 'tag';
    } else if (target.indexReferrer) {
      how = await target.indexReferrer(repository, r.subject, r.descriptor, signal);
    }
    stats.referrers++;
    emit({ type: 'referrer-written', repository, digest: r.descriptor.digest, subject: r.subject, artifactType: r.descriptor.artifactType, how });
  };

  const putManifest = async (repository: string, m: ManifestNode) => {
    signal.throwIfAborted();
    await target.pushManifest(repository, m.digest, m.bytes, m.mediaType, signal);
    stats.manifestsPushed++;
    emit({ type: 'manifest-pushed', digest: m.digest, repository, skipped: false });
  };

  const skipBlob = (blob: Descriptor, repository: string) => {
    stats.blobsSkipped++;
    emit({ type: 'blob-start', blob, repository });
    emit({ type: 'blob-done', blob, repository, outcome: 'skipped' });
  };

  const copyBlob = async (blob: Descriptor, repository: string, mountFrom: string | undefined, budget: RetryBudget) => {
    signal.throwIfAborted();
    emit({ type: 'blob-start', blob, repository });
    const outcome = await transferBlob(blob, repository, mountFrom, budget);
    if (outcome === 'uploaded' || outcome === 'foreign-copied') {
      stats.blobsUploaded++;
      stats.bytesUploaded += blob.size;
    } else stats.blobsMounted++;
    emit({ type: 'blob-done', blob, repository, outcome });
  };

  const sameRegistry = source.location === target.location;
  /** A blob the target does not have: mounted or uploaded. */
  const transferBlob = async (blob: Descriptor, repository: string, mountFrom: string | undefined, budget: RetryBudget): Promise<BlobOutcome> => {
    // Mount from the source repository on the same registry, or from the first target repository.
    const from = mountFrom ?? (sameRegistry && !isForeignLayer(blob) ? o.sourceRepository : undefined);
    let session: UploadSession | undefined;
    if (from && from !== repository && target.mount) {
      try {
        const r = await target.mount(repository, blob.digest, from, signal, budget);
        if (r.mounted) return 'mounted';
        session = r;
      } catch (err) {
        // Mounting is an optimisation: any failure falls back to an upload.
        if (signal.aborted) throw err;
        emit({ type: 'note', message: `Mount of ${blob.digest} from ${from} failed (${(err as Error).message}); uploading instead.` });
      }
    }
    const sourceStream = isForeignLayer(blob)
      ? (offset: number) => foreignLayerStream(blob, offset, signal, o.foreignLayers)
      : (offset: number) => source.fetchBlob(o.sourceRepository, blob, { offset, signal, budget });
    // A whole-blob transfer that failed transiently (a dropped stream, a vanished session) starts
    // over in a new session, drawing on the transfer's one budget.
    await o.transport.retry.within(budget, signal, isRetryable, async (attempt) => {
      await target.pushBlob(repository, blob, sourceStream, {
        // The session a refused mount opened, with its OCI-Chunk-Min-Length; a new one after a failure.
        session: attempt === 1 ? session : undefined,
        budget,
        signal,
        onProgress: (bytes) => emit({ type: 'blob-progress', blob, bytes }),
      });
    });
    return isForeignLayer(blob) ? 'foreign-copied' : 'uploaded';
  };

  try {
    // The first repository gets the bytes; the others mount from it.
    const [first, ...rest] = repositories;
    if (first) await perRepo(first, undefined);
    await Promise.all(rest.map((r) => perRepo(r, first)));
  } catch (err) {
    // The first failure is the one to report; the others are the aborts it caused.
    throw failFast.signal.aborted ? failFast.signal.reason : err;
  }

  // Tags last: only now is every blob and manifest they point at in place.
  for (const t of plan.targets) {
    if (t.action === 'unchanged' || !t.tag) {
      if (t.action === 'unchanged') stats.tagsUnchanged++;
      emit({ type: 'tag-pushed', repository: t.repository, tag: t.tag ?? plan.digest, digest: plan.digest, skipped: t.action === 'unchanged' });
      continue;
    }
    signal.throwIfAborted();
    await target.tag(t.repository, t.tag, { digest: plan.digest, bytes: root.bytes, mediaType: root.mediaType }, signal);
    stats.tagsPushed++;
    emit({ type: 'tag-pushed', repository: t.repository, tag: t.tag, digest: plan.digest, skipped: false });
  }
  // Layouts and archives make the tags visible here, all at once.
  await target.commit?.(signal);
  return stats;
}

/** Blobs at least this large go first, largest first: the longest transfers must not start last. */
const LARGE_BLOB = 16 * 1024 * 1024;

/**
 * The order blobs are sent in: large ones first, largest first; then the others manifest by
 * manifest (children before parents), each manifest's largest first, so that each manifest can go
 * up as soon as its own blobs are in rather than after every small blob of the image. An image's
 * blobs go largest first, as the plan lists them.
 */
export function transferOrder(plan: Pick<ImportPlan, 'blobs' | 'manifests'>): Descriptor[] {
  const copyable = new Map(plan.blobs.map((b) => [b.digest, b]));
  const large = plan.blobs.filter((b) => b.size >= LARGE_BLOB).sort((a, b) => b.size - a.size);
  const order = new Map(large.map((b) => [b.digest, b]));
  for (const m of plan.manifests) {
    const own = m.blobs.map((d) => copyable.get(d.digest)).filter((b): b is Descriptor => b !== undefined && !order.has(b.digest));
    for (const b of own.sort((x, y) => y.size - x.size)) order.set(b.digest, b);
  }
  // Blobs no manifest lists (none in a plan from planImport) keep their place at the end.
  for (const b of plan.blobs) if (!order.has(b.digest)) order.set(b.digest, b);
  return [...order.values()];
}
