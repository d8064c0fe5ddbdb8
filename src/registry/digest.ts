// Content digests (OCI image spec "Digests"): the algorithm named by the digest, hashed over the bytes.
import { createHash, type Hash } from 'node:crypto';
import { AcrImportError } from '../errors.js';

const ALGORITHMS: Record<string, string> = { sha256: 'sha256', sha512: 'sha512' };

export function hasherFor(digest: string): Hash {
  const alg = ALGORITHMS[digest.split(':')[0] ?? ''];
  if (!alg) throw new AcrImportError('integrity', `Unsupported digest algorithm in '${digest}'.`);
  return createHash(alg);
}

export function digestOf(bytes: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export function finish(hash: Hash, like: string): string {
  return `${like.split(':')[0]}:${hash.digest('hex')}`;
}
