// `oci-archive:FILE`: an OCI image layout in a tar. Read in place (blobs are streamed from their
// offsets in the file); written by staging a layout in a hidden directory beside the file, then
// packing it into a temporary tar that is renamed over FILE at commit. An interrupted export
// leaves FILE as it was; images FILE already holds are kept.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { temporaryNameFor } from '../atomic-file.js';
import { LayoutReader } from '../layout/reader.js';
import { LayoutStorage } from '../layout/writer.js';
import { TarFiles, indexTar } from './tar-index.js';

export async function openOciArchive(file: string): Promise<LayoutReader> {
  const path = resolve(file);
  const name = `oci-archive:${file}`;
  const entries = await indexTar(path, name);
  return new LayoutReader(new TarFiles(path, entries), name, `oci-archive:${path}`);
}

/** Entry names a layout may hold: anything else (`..`, absolute paths) is not unpacked. */
const LAYOUT_ENTRY = /^(?:oci-layout|index\.json|blobs\/[a-z0-9]+(?:[.+_-][a-z0-9]+)*\/[a-zA-Z0-9=_-]+)$/;

export class OciArchiveWriter extends LayoutStorage {
  private constructor(
    staging: string,
    private readonly file: string,
  ) {
    super(staging, `oci-archive:${file}`);
  }

  /** Stages the archive's current images, if it exists, so that they are kept. */
  static async open(file: string): Promise<OciArchiveWriter> {
    const path = resolve(file);
    await mkdir(dirname(path), { recursive: true });
    const staging = await mkdtemp(join(dirname(path), `.${basename(path)}.staging-`));
    const writer = new OciArchiveWriter(staging, path);
    try {
      if (await stat(path).then(() => true, () => false)) {
        const entries = await indexTar(path, `oci-archive:${file}`);
        for (const [entry, e] of entries) {
          if (!LAYOUT_ENTRY.test(entry)) continue;
          await mkdir(dirname(join(staging, entry)), { recursive: true });
          await pipeline(new TarFiles(path, new Map([[entry, e]])).stream(entry, 0), createWriteStream(join(staging, entry)));
        }
      }
    } catch (err) {
      await writer.close();
      throw err;
    }
    return writer;
  }

  override async commit(): Promise<void> {
    if (!this.hasPendingTags) return;
    await super.commit();
    const tmp = temporaryNameFor(this.file);
    try {
      await packDirectory(this.dir, tmp);
      await rename(tmp, this.file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Tars a layout directory: oci-layout and index.json first, then the blobs, streamed one by one. */
async function packDirectory(dir: string, out: string): Promise<void> {
  const names = ['oci-layout', 'index.json'];
  for (const alg of await readdir(join(dir, 'blobs')).catch(() => [] as string[])) {
    for (const f of await readdir(join(dir, 'blobs', alg))) if (!f.startsWith('.')) names.push(`blobs/${alg}/${f}`);
  }
  const tar = pack();
  const written = pipeline(tar, createWriteStream(out));
  for (const name of names) {
    const { size, mtime } = await stat(join(dir, name));
    let entryDone!: (err?: Error | null) => void;
    const done = new Promise<void>((res, rej) => {
      entryDone = (err) => (err ? rej(err) : res());
    });
    const entry = tar.entry({ name, size, mtime, mode: 0o644 }, (err) => entryDone(err));
    for await (const chunk of createReadStream(join(dir, name), { highWaterMark: 1024 * 1024 })) {
      if (!entry.write(chunk as Buffer)) await once(entry, 'drain');
    }
    entry.end(null);
    await done;
  }
  tar.finalize();
  await written;
  // The rename that follows must not publish a file whose bytes are still in the page cache only.
  const fh = await open(out, 'r+');
  await fh.sync().finally(() => fh.close());
}
