// One suite, every storage: what the copy engine relies on holds for the registry, an OCI
// layout, an OCI archive and memory alike.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AcrImportError } from '../../src/errors.js';
import { MediaType } from '../../src/oci/media-types.js';
import { seededBytes, sha256, uniqueRepo } from '../harness/index.js';
import { readAll } from '../registry/helpers.js';
import { storageKinds, type OpenedStorage, type StorageKind } from './storages.js';

const source = (bytes: Buffer) => (offset: number) => Readable.from([bytes.subarray(offset)]);

function imageOf(layer: Buffer, config = Buffer.from('{"architecture":"amd64","os":"linux"}')) {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { config, layer, manifest, digest: sha256(manifest) };
}

async function writeImage(s: OpenedStorage['storage'], repo: string, tag: string, image: ReturnType<typeof imageOf>) {
  for (const b of [image.config, image.layer]) await s.pushBlob(repo, { digest: sha256(b), size: b.length }, source(b));
  await s.tag(repo, tag, { digest: image.digest, bytes: image.manifest, mediaType: MediaType.ociManifest });
  await s.commit?.();
}

const toClose: OpenedStorage[] = [];
afterEach(async () => {
  await Promise.all(toClose.splice(0).map((o) => o.close()));
});

async function openStorage(kind: StorageKind): Promise<OpenedStorage> {
  const opened = await kind.open();
  toClose.push(opened);
  return opened;
}

describe.each(storageKinds)('storage conformance: $name', (kind) => {
  it('streams a blob in, says it exists, and gives its bytes back whole and from an offset', async () => {
    const opened = await openStorage(kind);
    const { storage } = opened;
    const repo = uniqueRepo('conf');
    const bytes = seededBytes(`blob-${kind.name}`, 3 * 1024 * 1024 + 17);
    const blob = { digest: sha256(bytes), size: bytes.length };
    expect(await storage.exists(repo, blob.digest)).toBe(false);
    const progress: number[] = [];
    await storage.pushBlob(repo, blob, source(bytes), { onProgress: (n) => progress.push(n) });
    expect(await storage.exists(repo, blob.digest)).toBe(true);
    expect(progress.at(-1)).toBe(bytes.length);
    expect((await readAll(storage.fetchBlob(repo, blob))).equals(bytes)).toBe(true);
    expect((await readAll(storage.fetchBlob(repo, blob, { offset: 1_000_001 }))).equals(bytes.subarray(1_000_001))).toBe(true);
  });

  it('refuses a blob whose bytes do not match its digest, and keeps nothing of it', async () => {
    const opened = await openStorage(kind);
    const { storage } = opened;
    const repo = uniqueRepo('conf');
    const bytes = seededBytes(`bad-${kind.name}`, 4096);
    const claimed = { digest: sha256(Buffer.from('something else')), size: bytes.length };
    const err = await storage.pushBlob(repo, claimed, source(bytes)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await storage.exists(repo, claimed.digest)).toBe(false);
  });

  it('names a manifest by tag once committed, gives its exact bytes back, and knows no other tag', async () => {
    const opened = await openStorage(kind);
    const repo = uniqueRepo('conf');
    const image = imageOf(seededBytes(`layer-${kind.name}`, 5000));
    await writeImage(opened.storage, repo, 'v1', image);
    const reader = await opened.reopen();
    expect(await reader.resolve(repo, 'v1')).toEqual({ digest: image.digest, mediaType: MediaType.ociManifest, size: image.manifest.length });
    expect((await reader.resolve(repo, image.digest))?.digest).toBe(image.digest);
    expect(await reader.resolve(repo, 'nope')).toBeUndefined();
    const m = await reader.fetchManifest(repo, 'v1');
    expect(m.bytes.equals(image.manifest)).toBe(true);
    expect(m.digest).toBe(image.digest);
    expect((await readAll(reader.fetchBlob(repo, { digest: sha256(image.layer), size: image.layer.length }))).equals(image.layer)).toBe(true);
    await reader.close?.();
  });

  it('keeps the images it already holds when another is written, and moves a tag that is written again', async () => {
    const opened = await openStorage(kind);
    const repo = uniqueRepo('conf');
    const first = imageOf(seededBytes(`first-${kind.name}`, 3000));
    const second = imageOf(seededBytes(`second-${kind.name}`, 3000));
    await writeImage(opened.storage, repo, 'one', first);
    await writeImage(opened.storage, repo, 'two', second);
    await writeImage(opened.storage, repo, 'moving', first);
    await writeImage(opened.storage, repo, 'moving', second);
    const reader = await opened.reopen();
    expect((await reader.resolve(repo, 'one'))?.digest).toBe(first.digest);
    expect((await reader.resolve(repo, 'two'))?.digest).toBe(second.digest);
    expect((await reader.resolve(repo, 'moving'))?.digest).toBe(second.digest);
  });

  it('says a blob it does not hold is not found', async () => {
    const opened = await openStorage(kind);
    const repo = uniqueRepo('conf');
    await writeImage(opened.storage, repo, 'v1', imageOf(seededBytes(`present-${kind.name}`, 100)));
    const reader = await opened.reopen();
    const missing = { digest: sha256(Buffer.from(`missing-${kind.name}`)), size: 10 };
    const err = await Promise.resolve()
      .then(() => readAll(reader.fetchBlob(repo, missing)))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    if (kind.name !== 'registry') expect((err as AcrImportError).kind).toBe('not-found');
  });
});

describe.each(storageKinds.filter((k) => k.files))('storage conformance, files: $name', (kind) => {
  it('shows nothing of an export that stopped before its commit: the previous images and no new tag', async () => {
    const opened = await openStorage(kind);
    const repo = uniqueRepo('conf');
    const first = imageOf(seededBytes(`kept-${kind.name}`, 2000));
    const second = imageOf(seededBytes(`uncommitted-${kind.name}`, 2000));
    await writeImage(opened.storage, repo, 'v1', first);
    const before = readFileSync(kind.name === 'oci archive' ? opened.path! : join(opened.path!, 'index.json'));
    for (const b of [second.config, second.layer]) await opened.storage.pushBlob(repo, { digest: sha256(b), size: b.length }, source(b));
    await opened.storage.tag(repo, 'v2', { digest: second.digest, bytes: second.manifest, mediaType: MediaType.ociManifest });
    const after = readFileSync(kind.name === 'oci archive' ? opened.path! : join(opened.path!, 'index.json'));
    expect(after.equals(before)).toBe(true);
    const reader = await opened.reopen();
    expect((await reader.resolve(repo, 'v1'))?.digest).toBe(first.digest);
    expect(await reader.resolve(repo, 'v2')).toBeUndefined();
  });

  it('refuses a blob whose file was altered on disk', async () => {
    const opened = await openStorage(kind);
    const repo = uniqueRepo('conf');
    const image = imageOf(seededBytes(`altered-${kind.name}`, 2000));
    await writeImage(opened.storage, repo, 'v1', image);
    const layer = { digest: sha256(image.layer), size: image.layer.length };
    if (kind.name === 'oci archive') {
      // Flip one byte of the layer where it sits in the tar.
      const tar = readFileSync(opened.path!);
      const at = tar.indexOf(image.layer);
      expect(at).toBeGreaterThan(0);
      tar[at + 100] ^= 0xff;
      writeFileSync(opened.path!, tar);
    } else {
      const file = join(opened.path!, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
      const bytes = readFileSync(file);
      bytes[100] ^= 0xff;
      writeFileSync(file, bytes);
    }
    const reader = await opened.reopen();
    const err = await readAll(reader.fetchBlob(repo, layer)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AcrImportError);
    expect((err as AcrImportError).kind).toBe('integrity');
    expect((err as Error).message).toMatch(/hash to sha256:/);
  });
});
