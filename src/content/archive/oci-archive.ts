// `oci-archive:FILE`: an OCI image layout in a tar. Read in place (blobs are streamed from their
// offsets in the file); written by staging new blobs in a hidden directory beside the file, then
// packing them with what FILE already holds into a temporary tar that is renamed over FILE at
// commit. An interrupted export leaves FILE as it was; images FILE already holds are kept.
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { temporaryNameFor } from '../atomic-file.js';
import { LayoutReader } from '../layout/reader.js';
import { LayoutStorage } from '../layout/writer.js';
import { DirectoryFiles, OverlayFiles } from '../layout/files.js';
import { TarFiles, indexTar } from './tar-index.js';

export async function openOciArchive(file: string): Promise<LayoutReader> {
  const path = resolve(file);
  const name = `oci-archive:${file}`;
  const entries = await indexTar(path, name);
  return new LayoutReader(new TarFiles(path, entries), name, `oci-archive:${path}`);
}

/** Entry names a layout may hold: anything else in an archive (`..`, absolute paths) is left out. */
const LAYOUT_ENTRY = /^(?:oci-layout|index\.json|blobs\/[a-z0-9]+(?:[.+_-][a-z0-9]+)*\/[a-zA-Z0-9=_-]+)$/;

export class OciArchiveWriter extends LayoutStorage {
  private constructor(
    staging: string,
    private readonly file: string,
    /** The staged files over the archive as it is. */
    private readonly overlay: OverlayFiles,
    /** The archive as it is, read in place (empty when there is none yet); its images go into the new one unchanged. */
    private previous: TarFiles,
  ) {
    super(staging, `oci-archive:${file}`, overlay);
  }

  /** New blobs are staged in a hidden directory beside the file; what the archive holds stays where it is. */
  static async open(file: string): Promise<OciArchiveWriter> {
    const path = resolve(file);
    const exists = await stat(path).then(() => true, () => false);
    const previous = new TarFiles(path, exists ? await indexTar(path, `oci-archive:${file}`) : new Map());
    await mkdir(dirname(path), { recursive: true });
    const staging = await mkdtemp(join(dirname(path), `.${basename(path)}.staging-`));
    return new OciArchiveWriter(staging, path, new OverlayFiles(new DirectoryFiles(staging), previous), previous);
  }

  override async commit(): Promise<void> {
    if (!this.hasPending) return;
    await super.commit();
    const tmp = temporaryNameFor(this.file);
    try {
      await packLayout(this.dir, this.previous, tmp);
      await rename(tmp, this.file);
      // The offsets of the file that was there are no longer those of the file at this path.
      this.previous = new TarFiles(this.file, await indexTar(this.file, this.name));
      this.overlay.bottom = this.previous;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Tars a layout: oci-layout and index.json first, then the blobs, streamed one by one from the
 * staging directory or, for those it does not have, from the previous archive.
 */
async function packLayout(dir: string, previous: TarFiles, out: string): Promise<void> {
  const staged = new DirectoryFiles(dir);
  const names = new Set(['oci-layout', 'index.json']);
  for (const alg of await readdir(join(dir, 'blobs')).catch(() => [] as string[])) {
    for (const f of await readdir(join(dir, 'blobs', alg))) if (!f.startsWith('.')) names.add(`blobs/${alg}/${f}`);
  }
  for (const name of previous.entries.keys()) if (LAYOUT_ENTRY.test(name)) names.add(name);
  const tar = pack();
  const written = pipeline(tar, createWriteStream(out));
  for (const name of names) {
    const fromStaging = await staged.has(name);
    const size = fromStaging ? (await stat(join(dir, name))).size : previous.entries.get(name)!.size;
    let entryDone!: (err?: Error | null) => void;
    const done = new Promise<void>((res, rej) => {
      entryDone = (err) => (err ? rej(err) : res());
    });
    const entry = tar.entry({ name, size, mode: 0o644 }, (err) => entryDone(err));
    for await (const chunk of (fromStaging ? staged : previous).stream(name, 0)) {
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
