// Existence checks against the target, each asked once per repository and digest, a bounded number
// at a time. Planning starts the blobs' checks as each child manifest arrives (they only read), so
// that by the time the plan is checked and writing may begin, most answers are in.
import pLimit, { type LimitFunction } from 'p-limit';
import type { Storage } from '../content/storage.js';

export class TargetProbes {
  private readonly limit: LimitFunction;
  private readonly asked = new Map<string, Promise<boolean>>();

  constructor(
    private readonly target: Pick<Storage, 'exists' | 'resolve'>,
    concurrency: number,
    private readonly signal?: AbortSignal,
  ) {
    this.limit = pLimit(concurrency);
  }

  /** Whether the repository has the blob (a HEAD). */
  blob(repository: string, digest: string): Promise<boolean> {
    return this.once(`blob ${repository} ${digest}`, () => this.target.exists(repository, digest, this.signal));
  }

  /** Whether the repository has the manifest by digest (a HEAD). */
  manifest(repository: string, digest: string): Promise<boolean> {
    return this.once(`manifest ${repository} ${digest}`, async () => (await this.target.resolve(repository, digest, this.signal))?.digest === digest);
  }

  private once(key: string, ask: () => Promise<boolean>): Promise<boolean> {
    let answer = this.asked.get(key);
    if (!answer) {
      answer = this.limit(() => {
        this.signal?.throwIfAborted();
        return ask();
      });
      // Asked ahead, perhaps never awaited (planning refused the image): no unhandled rejection.
      answer.catch(() => undefined);
      this.asked.set(key, answer);
    }
    return answer;
  }
}
