// One target shared by every image of a sync: a blob that several images have in common (a base
// layer) is copied once, and every other repository that needs it mounts it from the repository
// that got it, even while that copy is still running (the mount waits for it). Wraps the storage
// the engine writes to, so the engine itself stays as it is for a single import.
import type { Descriptor } from '../../oci/media-types.js';
import type { RetryBudget } from '../../transport/retry.js';
import type { BlobSource, MountResult, PushBlobOptions, Storage, UploadSession } from '../../content/storage.js';
import { ForwardingStorage } from './forwarding.js';

interface Claim {
  repository: string;
  /** Other repositories the blob was mounted into, once each. */
  mounts: Map<string, Promise<boolean>>;
  /** True once the blob is in `repository`; false when that copy failed (others then copy it themselves). */
  done: Promise<boolean>;
  settle(ok: boolean): void;
}

/** Which repository of the target has (or is getting) each blob; one per target storage and run. */
export class BlobLedger {
  private readonly claims = new Map<string, Claim>();

  get(digest: string): Claim | undefined {
    return this.claims.get(digest);
  }

  /** Notes that `repository` is getting `digest`; the claim settles false if `signal` aborts first. */
  claim(digest: string, repository: string, signal?: AbortSignal): Claim {
    let settle!: (ok: boolean) => void;
    const done = new Promise<boolean>((resolve) => (settle = resolve));
    let settled = false;
    const claim: Claim = {
      repository,
      mounts: new Map(),
      done,
      settle: (ok) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        // A failed copy gives the blob up: the next image that needs it claims it anew.
        if (!ok && this.claims.get(digest) === claim) this.claims.delete(digest);
        settle(ok);
      },
    };
    const onAbort = () => claim.settle(false);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.claims.set(digest, claim);
    return claim;
  }

  /** Records a blob known to be in `repository` (present already, or just mounted there). */
  record(digest: string, repository: string): void {
    if (!this.claims.has(digest)) this.claim(digest, repository).settle(true);
  }
}

/** Counts what this wrapper did on one image's behalf, beside the engine's own counts. */
export interface SharedCounts {
  /** Blobs mounted from the repository that got them first (the engine counts them as already present). */
  mounted: number;
}

/**
 * The target as one image of the sync sees it. `commit` does nothing: a layout or an archive is
 * committed once, by the run, after every image (two images committing at once would race).
 */
export class SharedTarget extends ForwardingStorage<Storage> implements Storage {
  readonly counts: SharedCounts = { mounted: 0 };
  /** Claims this image holds, settled by its upload or mount. */
  private readonly mine = new Map<string, Claim>();
  /** Upload sessions opened by a refused mount, for the upload that follows. */
  private readonly sessions = new Map<string, UploadSession>();

  /** Present exactly when the wrapped storage has them, as the engine expects. */
  readonly mount?: Storage['mount'];
  readonly indexReferrer?: Storage['indexReferrer'];

  constructor(
    inner: Storage,
    private readonly ledger: BlobLedger,
  ) {
    super(inner);
    if (inner.mount) this.mount = (...args) => this.engineMount(...args);
    if (inner.indexReferrer) this.indexReferrer = inner.indexReferrer.bind(inner);
  }

  async exists(repository: string, digest: string, signal?: AbortSignal, budget?: RetryBudget): Promise<boolean> {
    // Storages without repositories (layouts, archives) have one place for every blob.
    if (!this.inner.mount) return this.inner.exists(repository, digest, signal, budget);
    const known = this.ledger.get(digest);
    if (known) {
      const ok = await whileNotAborted(known.done, signal);
      if (ok && known.repository === repository) return true;
      if (ok) {
        // Two images of one repository that need the blob mount it once.
        let mounting = known.mounts.get(repository);
        if (!mounting) {
          mounting = this.mountFrom(repository, digest, known.repository, signal, budget);
          known.mounts.set(repository, mounting);
          mounting.then((mounted) => mounted || known.mounts.delete(repository), () => known.mounts.delete(repository));
        }
        if (await mounting) return true;
      }
    }
    const key = `${repository}\n${digest}`;
    const claim = this.ledger.get(digest) ? undefined : this.ledger.claim(digest, repository, signal);
    if (claim) this.mine.set(key, claim);
    try {
      const present = await this.inner.exists(repository, digest, signal, budget);
      if (present) this.settle(key, true);
      return present;
    } catch (err) {
      this.settle(key, false);
      throw err;
    }
  }

  async pushBlob(repository: string, blob: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, options: PushBlobOptions = {}): Promise<void> {
    const key = `${repository}\n${blob.digest}`;
    const session = options.session ?? this.sessions.get(key);
    this.sessions.delete(key);
    try {
      await this.inner.pushBlob(repository, blob, source, { ...options, session });
      this.settle(key, true);
    } catch (err) {
      this.settle(key, false);
      throw err;
    }
  }

  /** The engine's own mount (from the source repository); a failure leaves the claim open for the upload that follows. */
  private async engineMount(repository: string, digest: string, fromRepository: string, signal?: AbortSignal, budget?: RetryBudget): Promise<MountResult> {
    const r = await this.inner.mount!(repository, digest, fromRepository, signal, budget);
    if (r.mounted) this.settle(`${repository}\n${digest}`, true);
    return r;
  }

  pushManifest(repository: string, digest: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<void> {
    return this.inner.pushManifest(repository, digest, bytes, mediaType, signal);
  }

  tag(repository: string, tag: string, manifest: { digest: string; bytes: Buffer; mediaType: string }, signal?: AbortSignal): Promise<void> {
    return this.inner.tag(repository, tag, manifest, signal);
  }

  async commit(): Promise<void> {
    // Deferred to the run: see the class comment.
  }

  /** Gives up every claim still open (the image failed or stopped), so no other image waits on it. */
  release(): void {
    for (const key of [...this.mine.keys()]) this.settle(key, false);
  }

  private settle(key: string, ok: boolean): void {
    const claim = this.mine.get(key);
    this.mine.delete(key);
    claim?.settle(ok);
    if (ok && !claim) this.ledger.record(key.slice(key.indexOf('\n') + 1), key.slice(0, key.indexOf('\n')));
  }

  /** Mounts from the repository that has the blob; an upload session when the registry refuses. */
  private async mountFrom(repository: string, digest: string, from: string, signal?: AbortSignal, budget?: RetryBudget): Promise<boolean> {
    try {
      const r = await this.inner.mount!(repository, digest, from, signal, budget);
      if (r.mounted) {
        this.counts.mounted++;
        return true;
      }
      this.sessions.set(`${repository}\n${digest}`, r);
    } catch {
      // Mounting is an optimisation: the engine checks and uploads as usual.
      signal?.throwIfAborted();
    }
    return false;
  }
}

/** `promise`, or the signal's reason as soon as it aborts. */
function whileNotAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
