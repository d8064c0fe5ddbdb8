// Typed errors, raised once where a failure arises, and mapped to exit codes in one place.

/** What went wrong, from a user's point of view; each kind has its own exit code. */
export type ErrorKind =
  | 'usage' // bad flags or input (malformed reference, conflicting options)
  | 'auth' // authentication or permission (401, 403, DENIED, missing credentials)
  | 'not-found' // source image, repository, tag or blob does not exist
  | 'limit' // an import limit (manifests, layer size) refuses the image
  | 'conflict' // a target tag points at another digest and --force was not given
  | 'transient' // rate limits, 5xx and dropped connections that outlasted the retries
  | 'network' // cannot reach the registry at all: DNS, refused connection, TLS
  | 'integrity' // bytes that do not match their digest, malformed manifests, protocol violations
  | 'partial' // a sync where some entries failed or were skipped (the others ran)
  | 'interrupted' // SIGINT / SIGTERM
  | 'internal'; // anything else

/** Exit codes, documented in the README. */
export const EXIT_CODES: Record<ErrorKind, number> = {
  internal: 1,
  usage: 2,
  auth: 3,
  'not-found': 4,
  limit: 5,
  conflict: 6,
  transient: 7,
  network: 8,
  integrity: 9,
  partial: 10,
  interrupted: 130,
};

export class AcrImportError extends Error {
  readonly kind: ErrorKind;
  /** One line telling the user what to do about it, printed under the message. */
  readonly hint?: string;

  constructor(kind: ErrorKind, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AcrImportError';
    this.kind = kind;
    this.hint = options?.hint;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

export function usageError(message: string, hint?: string): AcrImportError {
  return new AcrImportError('usage', message, { hint });
}

/** The exit code for anything thrown; unknown errors are internal. */
export function exitCodeOf(err: unknown): number {
  return err instanceof AcrImportError ? err.exitCode : EXIT_CODES.internal;
}
