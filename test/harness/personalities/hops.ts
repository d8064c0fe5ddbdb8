/**
 * What every origin of a personality received, one record per request, with the Authorization
 * header it carried: tests read it to prove credentials went only where they belong.
 */
import type { RequestKind } from '../proxy.js';

/** Which origin of a personality answered. */
export type OriginRole =
  /** The registry API itself (`/v2/…`). */
  | 'registry'
  /** The token realm (another host, as auth.docker.io is for registry-1.docker.io). */
  | 'realm'
  /** A second origin registry requests are redirected to: a regional registry, a blob store, an upload store. */
  | 'side';

export interface Hop {
  /** "<personality>/<role>", e.g. "ecr/side". */
  origin: string;
  role: OriginRole;
  method: string;
  /** Path and query as received. */
  path: string;
  kind: RequestKind;
  repo?: string;
  reference?: string;
  /** The Authorization header as received (the realm records "Basic <user>" only: it never keeps secrets). */
  authorization?: string;
  /** Status sent; 0 when the connection was dropped before an answer. */
  status: number;
  /** The scripted answer or fault applied, if any. */
  scripted?: string;
  responseHeaders: Record<string, string>;
}

export class HopLog {
  readonly hops: Hop[] = [];

  add(hop: Hop): Hop {
    this.hops.push(hop);
    return hop;
  }

  /** Hops of one repository (tests use unique repositories, so this is one test's traffic). */
  forRepo(repo: string): Hop[] {
    return this.hops.filter((h) => h.repo === repo || h.path.includes(`/${repo}/`));
  }

  clear(): void {
    this.hops.length = 0;
  }
}

/** One line per hop, for failure messages. */
export function describeHops(hops: Hop[]): string {
  return hops.map((h) => `${h.origin} ${h.method} ${h.path} → ${h.status}${h.scripted ? ` [${h.scripted}]` : ''}${h.authorization ? ` (auth: ${h.authorization.split(' ')[0]})` : ''}`).join('\n');
}
