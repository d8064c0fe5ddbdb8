// Files that appear whole or not at all: written under a temporary name in the same directory,
// flushed to disk, then renamed over the final name (a rename within a directory is atomic).
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temporary name beside `path`, hidden, that no reader takes for the real file. */
export function temporaryNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`);
}

/** Writes `bytes` to `path` atomically. */
export async function writeFileAtomic(path: string, bytes: Buffer | string): Promise<void> {
  const tmp = temporaryNameFor(path);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
