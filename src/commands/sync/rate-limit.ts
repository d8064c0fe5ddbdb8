// Pull limits (Docker Hub's `ratelimit-limit: 100;w=21600` and `ratelimit-remaining: 95;w=21600`):
// read from every answer that carries them, per host, and spent one manifest GET at a time, so a
// sync stops fetching before the limit is reached instead of running into 429s. HEADs are free
// (Docker Hub's "version check"), so entries that are up to date still get checked.
import { AcrImportError } from '../../errors.js';
import type { FetchedManifest, ReadOnlyStorage } from '../../content/storage.js';
import { ForwardingStorage } from './forwarding.js';
import { header, type ResponseHeaders } from '../../transport/http.js';

/** `95;w=21600` → 95 and a 21600 s window; undefined when unreadable. */
export function parseRateLimit(value: string | undefined): { count: number; windowSeconds?: number } | undefined {
  if (!value) return undefined;
  const [first, ...params] = value.split(';');
  const count = Number(first!.trim());
  if (!first!.trim() || !Number.isInteger(count) || count < 0) return undefined;
  const w = params.map((p) => /^\s*w\s*=\s*(\d+)\s*$/.exec(p)).find(Boolean);
  return { count, ...(w ? { windowSeconds: Number(w[1]) } : {}) };
}

export interface HostLimit {
  host: string;
  limit?: number;
  /** As last reported, less the GETs sent since. */
  remaining: number;
  windowSeconds?: number;
  /** When pulls come back, at the latest: the registry's `ratelimit-reset`, else a whole window from now. */
  resetBy?: Date;
}

/** Raised instead of a GET that would spend the last pulls; the entry is reported skipped. */
export class PullLimitReached extends AcrImportError {
  constructor(readonly state: HostLimit) {
    super('transient', `${state.host} has ${state.remaining} pull(s) left${state.limit !== undefined ? ` of ${state.limit}` : ''}; not fetching more${state.resetBy ? ` before ${state.resetBy.toISOString()}` : ''}.`, {
      hint: 'Sign in to the registry for a larger limit, or run the sync again after the reset.',
    });
  }
}

export class PullBudget {
  private readonly hosts = new Map<string, HostLimit>();

  /** `reserve`: pulls left untouched (for other jobs sharing the same account or address). */
  constructor(
    private readonly reserve = 0,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads the headers of any answer from `host`. */
  observe(host: string, headers: ResponseHeaders): void {
    const remaining = parseRateLimit(header(headers, 'ratelimit-remaining'));
    if (!remaining) return;
    const limit = parseRateLimit(header(headers, 'ratelimit-limit'));
    const window = remaining.windowSeconds ?? limit?.windowSeconds;
    const resetSeconds = Number(header(headers, 'ratelimit-reset'));
    const resetBy = Number.isFinite(resetSeconds) && resetSeconds > 0 ? new Date(this.now() + resetSeconds * 1000) : window ? new Date(this.now() + window * 1000) : undefined;
    const known = this.hosts.get(host);
    // GETs still in flight are not in this figure yet: keep the lower of the two.
    this.hosts.set(host, {
      host,
      limit: limit?.count,
      remaining: known ? Math.min(known.remaining, remaining.count) : remaining.count,
      windowSeconds: window,
      resetBy,
    });
  }

  /** The limit of a host, as far as known. */
  state(host: string): HostLimit | undefined {
    const s = this.hosts.get(host);
    return s && { ...s };
  }

  /** Every limited host seen. */
  states(): HostLimit[] {
    return [...this.hosts.values()].map((s) => ({ ...s }));
  }

  /** Spends one pull on `host`, or throws PullLimitReached when that would go below the reserve. */
  spend(host: string): void {
    const s = this.hosts.get(host);
    if (!s) return;
    if (s.remaining - 1 < this.reserve) throw new PullLimitReached({ ...s });
    s.remaining--;
  }
}

/** A source whose manifest GETs are paid from the budget; everything else passes through. */
export class MeteredSource extends ForwardingStorage<ReadOnlyStorage> {
  constructor(
    inner: ReadOnlyStorage,
    private readonly budget: PullBudget,
    /** The host the budget knows this source by. */
    private readonly host: string,
  ) {
    super(inner);
  }

  override async fetchManifest(repository: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    this.budget.spend(this.host);
    return this.inner.fetchManifest(repository, reference, signal);
  }
}
