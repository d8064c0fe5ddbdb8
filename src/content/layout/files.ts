// Where a layout's files are read from: a directory, or the entries of a tar read in place.
// The layout code reads through this and never knows which.
import { createReadStream, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export interface LayoutFiles {
  /** A small file's bytes (oci-layout, index.json, a manifest); undefined when it is absent. */
  read(path: string): Promise<Buffer | undefined>;
  has(path: string): Promise<boolean>;
  /** A file's bytes from `start` on; the stream fails with ENOENT when it is absent. */
  stream(path: string, start: number): Readable;
}

export class DirectoryFiles implements LayoutFiles {
  constructor(readonly dir: string) {}

  async read(path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.dir, path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async has(path: string): Promise<boolean> {
    return stat(join(this.dir, path)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  stream(path: string, start: number): Readable {
    return createReadStream(join(this.dir, path), { start, highWaterMark: 1024 * 1024 });
  }
}

/** New files over old ones: what is written to `top` hides the same path in `bottom`. */
export class OverlayFiles implements LayoutFiles {
  constructor(
    private readonly top: DirectoryFiles,
    /** Replaced when what lies under changes (an archive rewritten at commit). */
    public bottom: LayoutFiles,
  ) {}

  async read(path: string): Promise<Buffer | undefined> {
    return (await this.top.read(path)) ?? this.bottom.read(path);
  }

  async has(path: string): Promise<boolean> {
    return (await this.top.has(path)) || this.bottom.has(path);
  }

  stream(path: string, start: number): Readable {
    // Streams are opened synchronously; a stat of one local path is cheap.
    return existsSync(join(this.top.dir, path)) ? this.top.stream(path, start) : this.bottom.stream(path, start);
  }
}
