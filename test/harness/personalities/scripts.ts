/**
 * Scripted answers a test puts on one request of a personality: the fault points of the interop
 * matrix (a reset before the first byte, mid-body or after the last one; a 401; a body cut short
 * by a clean close, with or without a length; a lost upload session) and refused mounts.
 */
import type { ProxyRequestInfo } from '../proxy.js';
import type { OriginRole } from './hops.js';

export type Scripted =
  /** The connection is destroyed before any answer, the request body unread. */
  | 'reset-before'
  /** The registry receives the whole request and answers; the client gets a reset instead (writes), or every byte then a reset (reads). */
  | 'reset-after'
  /** Half the response body, then a reset. */
  | 'cut-mid'
  /** Content-Length of the whole body, half of it, then a clean close (a proxy giving up). */
  | 'truncate-length'
  /** No Content-Length, `Connection: close`, half the body, a clean close: it looks complete. */
  | 'truncate-no-length'
  /** 401 with a fresh challenge, as when a token is revoked or expires mid-import. */
  | 'unauthorized'
  /** 404 BLOB_UPLOAD_UNKNOWN: the session was opened on another replica. */
  | 'lose-session'
  /** A mount request opens a plain upload session instead (202). */
  | 'refuse-mount';

export interface RequestInfo extends ProxyRequestInfo {
  role: OriginRole;
}

export interface Script {
  when: (r: RequestInfo) => boolean;
  answer: Scripted;
  /** How many matching requests get the answer (default 1). */
  times?: number;
}

/** Scripts in the order they were added; each answers up to `times` requests. */
export class ScriptBook {
  private readonly entries: { script: Script; left: number; used: number }[] = [];

  add(script: Script): { used(): number; remove(): void } {
    const entry = { script, left: script.times ?? 1, used: 0 };
    this.entries.push(entry);
    return {
      used: () => entry.used,
      remove: () => {
        const i = this.entries.indexOf(entry);
        if (i >= 0) this.entries.splice(i, 1);
      },
    };
  }

  /** The answer for this request, if a script claims it. */
  take(r: RequestInfo): Scripted | undefined {
    for (const e of this.entries) {
      if (e.left > 0 && e.script.when(r)) {
        e.left--;
        e.used++;
        return e.script.answer;
      }
    }
    return undefined;
  }
}
