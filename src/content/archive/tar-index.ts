// Random access into a tar file: where each regular file's bytes start and how long they are,
// so blobs are streamed straight from the archive and never unpacked to disk. tar-stream parses
// the headers (ustar, pax and GNU long names) and reports each entry's data offset; the data
// itself is skipped unread by this code.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { AcrImportError } from '../../errors.js';
import type { LayoutFiles } from '../layout/files.js';

export interface TarEntry {
  /** Where the entry's bytes start in the file. */
  offset: number;
  size: number;
}

/** Regular files of the tar at `file`, by name without a leading `./`. */
export async function indexTar(file: string, describe: string): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const ex = extract();
  ex.on('entry', (header, stream, next) => {
    if (header.type === 'file' || header.type === 'contiguous-file') {
      // `stream.offset` is where the entry's own header starts (after any pax or GNU long-name
      // headers); its data follows that one 512-byte block.
      entries.set(normalizeEntryName(header.name), { offset: stream.offset + 512, size: header.size });
    }
    stream.on('end', () => next());
    stream.resume();
  });
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), ex);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AcrImportError('not-found', `${describe}: the file does not exist.`);
    if (code === 'EISDIR') throw new AcrImportError('usage', `${describe}: is a directory, not a tar file.`);
    if (code) throw err;
    throw new AcrImportError('integrity', `${describe} is not a readable tar archive (${(err as Error).message}).`);
  }
  return entries;
}

export function normalizeEntryName(name: string): string {
  return name.replace(/^(?:\.\/)+/, '').replace(/\/+$/, '');
}

/** Reads entries of a tar in place, for the layout reader. */
export class TarFiles implements LayoutFiles {
  constructor(
    private readonly file: string,
    readonly entries: Map<string, TarEntry>,
  ) {}

  async read(path: string): Promise<Buffer | undefined> {
    const e = this.entries.get(path);
    if (!e) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of this.stream(path, 0)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async has(path: string): Promise<boolean> {
    return this.entries.has(path);
  }

  stream(path: string, start: number): Readable {
    const e = this.entries.get(path);
    if (!e) {
      // The same failure a missing file gives, so that readers treat both alike.
      const err = Object.assign(new Error(`${path}: no such entry`), { code: 'ENOENT' });
      return new Readable({
        read() {
          this.destroy(err);
        },
      });
    }
    // `end` is inclusive; an empty range would read the whole file.
    if (start >= e.size) return createReadStream(this.file, { start: e.offset, end: e.offset - 1 });
    return createReadStream(this.file, { start: e.offset + start, end: e.offset + e.size - 1, highWaterMark: 1024 * 1024 });
  }
}
