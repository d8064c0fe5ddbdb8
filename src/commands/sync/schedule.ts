// The entry scheduler: every image of every entry runs through one queue of a few images at a
// time (their blob transfers share one limiter besides, see run.ts), so a long entry does not
// hold up the others. With --fail-fast the first failure stops the queue: what has not started
// is reported skipped, what is running is cancelled.
import pLimit, { type LimitFunction } from 'p-limit';
import { setMaxListeners } from 'node:events';

/** What a task that never ran (or was cancelled by --fail-fast) resolves to. */
export interface Stopped {
  stopped: true;
  reason: string;
}

export class Scheduler {
  private readonly controller = new AbortController();
  private readonly limit: LimitFunction;
  /** The run's signal: the user's (Ctrl-C) and --fail-fast's. */
  readonly signal: AbortSignal;
  private firstFailure?: string;

  constructor(
    parallel: number,
    private readonly failFast: boolean,
    private readonly parent?: AbortSignal,
  ) {
    this.limit = pLimit(parallel);
    this.signal = parent ? AbortSignal.any([parent, this.controller.signal]) : this.controller.signal;
    // Every request in flight listens on this signal.
    setMaxListeners(0, this.signal);
  }

  /** True once --fail-fast has stopped the run. */
  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Runs `task` when a slot is free; a stopped run resolves it as Stopped without running it. */
  run<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T | Stopped> {
    return this.limit(async () => {
      if (this.stopped) return this.stoppedResult();
      this.signal.throwIfAborted();
      try {
        return await task(this.signal);
      } catch (err) {
        // Cancelled by --fail-fast (not by the user): a skip, not a failure of its own.
        if (this.stopped && !this.parent?.aborted) return this.stoppedResult();
        throw err;
      }
    });
  }

  /** Notes a failure; with --fail-fast, stops everything else. */
  failed(what: string): void {
    if (!this.failFast || this.stopped) return;
    this.firstFailure = what;
    this.controller.abort(new Error(`stopped by --fail-fast after ${what} failed`));
  }

  private stoppedResult(): Stopped {
    return { stopped: true, reason: `not run: --fail-fast stopped the sync after ${this.firstFailure} failed` };
  }
}

export function isStopped(x: unknown): x is Stopped {
  return typeof x === 'object' && x !== null && (x as Stopped).stopped === true;
}
