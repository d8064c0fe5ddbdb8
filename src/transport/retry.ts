// Bounded retries with exponential backoff and jitter, shared per host: one 429 from a registry
// pauses every request to that host, not only the one that got it (as regclient does).
//
// The retry design, in one place:
// - `--retries N` bounds every request: Transport.send makes at most N+1 attempts of it.
// - A whole blob transfer (its HEAD, mount, download with Range resumes, upload chunks, status
//   queries and restarts) shares ONE RetryBudget of N retries: every retry at any level draws
//   from it, so retries never multiply through nested loops (a failing PUT is sent N+1 times,
//   not (N+1)³). Requests outside a transfer (manifests, tags) have only their own bound.
// - One classifier, isRetryable(), decides for errors; isRetryableStatus() for answers.
// - Every wait is backoff(): it ends at once when the AbortSignal fires (Ctrl-C, or another
//   transfer's failure), rejecting with the signal's reason.
import { setTimeout as sleep } from 'node:timers/promises';
import { AcrImportError } from '../errors.js';

export interface RetryOptions {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is cut to it, so a CI step never sleeps for an hour. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 15_000,
  maxRetryAfterMs: 60_000,
};

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

// Errors that mean "the connection broke", worth another try; DNS NXDOMAIN and TLS failures are not.
const RETRYABLE_CODES = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED', 'ERR_STREAM_PREMATURE_CLOSE',
  // A body shorter than its Content-Length, ended by a clean close (a proxy's Connection: close).
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Whether an operation that failed with `err` is worth another try: a broken connection or a cut
 * body, a typed transient error (429/5xx that outlasted a request's own retries), an upload
 * session that vanished (a geo-replica that lost it, or a session state the registry no longer
 * takes after an answer was lost: 404 BLOB_UPLOAD_INVALID), or a chunk refused with 416 (the
 * registry's offset differs from ours: resume from its status). Never an abort, nor a refused proxy.
 */
export function isRetryable(err: unknown): boolean {
  if ((err as { name?: string })?.name === 'AbortError') return false;
  if (err instanceof AcrImportError) {
    const { code, status } = err as { code?: string; status?: number };
    return err.kind === 'transient' || code === 'BLOB_UPLOAD_UNKNOWN' || (code === 'BLOB_UPLOAD_INVALID' && status === 404) || status === 416;
  }
  const code = errorCode(err);
  if (code) return RETRYABLE_CODES.has(code);
  return /terminated|other side closed|socket hang up/i.test(String((err as Error)?.message));
}

/** A backoff wait that ends at once, rejecting with the signal's reason, when `signal` fires. */
export async function backoff(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    throw signal?.aborted && signal.reason !== undefined ? signal.reason : err;
  }
}

/** Retries left for one operation (a blob transfer); every level of retry draws from it. */
export class RetryBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Takes one retry; false when none is left. */
  take(): boolean {
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }

  /** Retries taken so far (the delay of the next one grows with it). */
  get taken(): number {
    return this.used;
  }
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class RetryPolicy {
  readonly options: RetryOptions;
  private readonly pausedUntil = new Map<string, number>();

  constructor(options: Partial<RetryOptions> = {}) {
    this.options = { ...DEFAULT_RETRY, ...options };
  }

  /** Delay before attempt `attempt + 1` (attempt counts from 1), honouring Retry-After up to the cap. */
  delay(attempt: number, retryAfterMs?: number): number {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, this.options.maxRetryAfterMs);
    const ceiling = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  /**
   * Runs `op` until it succeeds, fails with what `worthAnother` refuses, or `budget` is spent,
   * backing off between tries; a fired `signal` ends it at once.
   */
  async within<T>(budget: RetryBudget, signal: AbortSignal | undefined, worthAnother: (err: unknown) => boolean, op: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op(attempt);
      } catch (err) {
        if (signal?.aborted || !worthAnother(err) || !budget.take()) throw err;
        await backoff(this.delay(budget.taken), signal);
      }
    }
  }

  /** A budget of retries for one whole operation: --retries of them. */
  budget(): RetryBudget {
    return new RetryBudget(this.options.maxAttempts - 1);
  }

  /** Slow every request to `host` for `ms`. */
  pause(host: string, ms: number): void {
    const until = Date.now() + ms;
    if (until > (this.pausedUntil.get(host) ?? 0)) this.pausedUntil.set(host, until);
  }

  /** Wait while the host is paused by an earlier 429 or 503. */
  async waitTurn(host: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = (this.pausedUntil.get(host) ?? 0) - Date.now();
      if (wait <= 0) return;
      await backoff(wait, signal);
    }
  }
}
