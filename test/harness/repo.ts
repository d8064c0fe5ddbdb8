/**
 * Repository names that never collide: every test gets fresh repositories on
 * the shared registries, so no state leaks between tests or parallel workers.
 */
import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * `uniqueRepo('copy/multiarch')` -> "copy/multiarch-k3f9-7-a1b2". The prefix
 * may contain '/' (namespaces); it is lower-cased and cleaned to the
 * distribution name grammar.
 */
export function uniqueRepo(prefix = 'test'): string {
  const clean = prefix
    .toLowerCase()
    .split('/')
    .map((part) => part.replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+|[._-]+$/g, '').replace(/[._-]{2,}/g, '-'))
    .filter(Boolean)
    .join('/');
  counter++;
  return `${clean || 'test'}-${process.pid.toString(36)}-${counter}-${randomBytes(2).toString('hex')}`;
}
