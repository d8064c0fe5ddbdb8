// How many requests a copy keeps in flight. --concurrency counts transfers that move bytes; small
// requests (existence checks, manifest GETs, blobs of one PUT) run at twice that: each costs a
// round trip and moves next to nothing, so on a distant registry an image of many small layers
// waits on round trips, not on bandwidth, and twice the requests in flight halve the wait.
import pLimit, { type LimitFunction } from 'p-limit';

/** Blobs up to this size go up in one PUT, read while the session opens (RegistryClient.uploadBlob). */
export const SMALL_BLOB = 1024 * 1024;

/** Small requests per transfer slot of --concurrency. */
const SMALL_PER_SLOT = 2;

export interface TransferLimits {
  /** Blobs over SMALL_BLOB, and foreign layers: --concurrency at a time. */
  large: LimitFunction;
  /** Blobs up to SMALL_BLOB: twice that. */
  small: LimitFunction;
}

/** The limiters of one copy, or of a whole sync (one budget shared by every image). */
export function transferLimits(concurrency: number): TransferLimits {
  return { large: pLimit(concurrency), small: pLimit(smallRequests(concurrency)) };
}

/** How many small requests run at once for --concurrency `n`. */
export function smallRequests(n: number): number {
  return n * SMALL_PER_SLOT;
}

/** Connections per registry host: every small request and every transfer can have one. */
export function connectionsPerHost(concurrency: number): number {
  return Math.max(16, smallRequests(concurrency) + concurrency);
}
