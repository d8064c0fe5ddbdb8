// Content digests (OCI image spec "Digests"): the one validator for every digest the tool reads (a
// reference typed by a user, a descriptor in a manifest), and hashing with the algorithm it names.
import { createHash, type Hash } from 'node:crypto';
import { AcrImportError } from '../errors.js';

/** Registered algorithms this tool verifies, with the length of their hex encoding. */
const SUPPORTED_ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 };
/** Algorithms registered (or commonly proposed) for OCI digests that this tool does not verify. */
const KNOWN_UNSUPPORTED_ALGORITHMS = new Set(['blake3', 'sha384', 'sha1', 'md5']);
const ALGORITHM_NAME = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/;

/**
 * What is wrong with a digest, or undefined when it is `sha256:<64 hex>` or `sha512:<128 hex>`.
 * `describe` renders an offending character (callers quoting user input show code points).
 */
export function digestProblem(digest: string, describe: (c: string) => string = (c) => JSON.stringify(c)): string | undefined {
  if (digest === '') return 'the digest is empty';
  const colon = digest.indexOf(':');
  if (colon < 0) return 'a digest is <algorithm>:<hex>, such as sha256:<64 hex digits>; the ":" is missing';
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (algorithm === '') return 'the digest algorithm before ":" is missing';
  if (/[A-Z]/.test(algorithm) && ALGORITHM_NAME.test(algorithm.toLowerCase())) {
    return `the digest algorithm must be lower case (${JSON.stringify(algorithm.toLowerCase())}, not ${JSON.stringify(algorithm)})`;
  }
  if (!ALGORITHM_NAME.test(algorithm)) return `${JSON.stringify(algorithm)} is not a valid digest algorithm name`;
  const expectedLength = SUPPORTED_ALGORITHMS[algorithm];
  if (expectedLength === undefined) {
    const supported = Object.keys(SUPPORTED_ALGORITHMS).join(' and ');
    return KNOWN_UNSUPPORTED_ALGORITHMS.has(algorithm)
      ? `the digest algorithm ${JSON.stringify(algorithm)} is not supported; only ${supported} digests are accepted`
      : `unknown digest algorithm ${JSON.stringify(algorithm)}; only ${supported} digests are accepted`;
  }
  if (hex === '') return `the hex part after ${JSON.stringify(`${algorithm}:`)} is missing`;
  if (/^[0-9a-fA-F]+$/.test(hex) && /[A-F]/.test(hex)) return 'the digest hex must be lower case';
  const bad = [...hex].find((c) => !/[0-9a-f]/.test(c));
  if (bad !== undefined) return `the digest contains a non-hex character ${describe(bad)}`;
  if (hex.length !== expectedLength) return `a ${algorithm} digest has ${expectedLength} hex digits, this one has ${hex.length}`;
  return undefined;
}

export function hasherFor(digest: string): Hash {
  const problem = digestProblem(digest);
  if (problem) throw new AcrImportError('integrity', `Cannot verify '${digest.slice(0, 200)}': ${problem}.`);
  return createHash(digest.slice(0, digest.indexOf(':')));
}

export function digestOf(bytes: Buffer, algorithm = 'sha256'): string {
  if (SUPPORTED_ALGORITHMS[algorithm] === undefined) throw new AcrImportError('integrity', `Unsupported digest algorithm '${algorithm.slice(0, 50)}'.`);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export function finish(hash: Hash, like: string): string {
  return `${like.split(':')[0]}:${hash.digest('hex')}`;
}
