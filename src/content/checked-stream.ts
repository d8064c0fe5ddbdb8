// A blob's bytes read from a file (or a part of one), checked as they pass: more or fewer bytes
// than the descriptor says, or (for a read from the start) another digest, end the stream with an
// error, never with an end, so nothing downstream takes bad bytes for a blob.
import { Transform, type Readable } from 'node:stream';
import { AcrImportError } from '../errors.js';
import { finish, hasherFor } from '../oci/digest.js';
import type { Descriptor } from '../oci/media-types.js';

/** Pipes `input` (the blob's bytes from `offset` on) through size and digest checks. */
export function checkedBlobStream(input: Readable, blob: Pick<Descriptor, 'digest' | 'size'>, offset: number, where: string): Readable {
  const hash = offset === 0 ? hasherFor(blob.digest) : undefined;
  let n = offset;
  const mismatch = (what: string) => new AcrImportError('integrity', `Blob ${blob.digest} in ${where} has ${what}; refusing to copy it.`);
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      n += chunk.length;
      if (n > blob.size) return done(mismatch(`more than the ${blob.size} bytes its descriptor gives`));
      hash?.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      if (n !== blob.size) return done(mismatch(`${n} bytes, not the ${blob.size} its descriptor gives`));
      const got = hash ? finish(hash, blob.digest) : blob.digest;
      done(got === blob.digest ? null : mismatch(`bytes that hash to ${got}`));
    },
  });
  input.once('error', (err) => {
    // A blob file that is not there is a missing blob, not an internal error.
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    check.destroy(missing ? new AcrImportError('not-found', `Blob ${blob.digest} is missing from ${where}.`) : err);
  });
  check.once('close', () => input.destroy());
  return input.pipe(check);
}
