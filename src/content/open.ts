// From a parsed transport spec (transports.ts) to an opened storage and what to copy from it.
// Registries are opened by the caller, which signs in; this opens the files. The archive readers
// and writers (tar-stream) load only for an archive: a copy between registries never needs them.
import { AcrImportError, usageError } from '../errors.js';
import { parseReference } from '../oci/reference.js';
import { LayoutReader } from './layout/reader.js';
import { DirectoryFiles } from './layout/files.js';
import { LayoutStorage } from './layout/writer.js';
import { resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { ReadOnlyStorage, Storage } from './storage.js';
import type { StorageSpec } from './transports.js';

export type FileSpec = Exclude<StorageSpec, { transport: 'registry' }>;

export interface OpenedSource {
  storage: ReadOnlyStorage;
  /** '' for a layout name without a repository (skopeo's `oci:DIR:tag`), and for archives from docker. */
  repository: string;
  /** A tag or a digest. */
  reference: string;
  /** The tag the source gave, for default target names. */
  tag?: string;
}

export async function openFileSource(spec: FileSpec): Promise<OpenedSource> {
  if (spec.transport === 'docker-archive') {
    const { DockerArchiveSource } = await import('./archive/docker-archive.js');
    const storage = await DockerArchiveSource.open(spec.path, spec.name);
    // Default target names come from the name asked for, or the first one docker save recorded.
    const tagged = spec.name && !spec.name.startsWith('@') ? spec.name : storage.repoTags[0];
    const ref = tagged ? parseReference(tagged) : undefined;
    return { storage, repository: ref?.repository ?? '', reference: storage.digest, tag: ref?.tag };
  }
  const storage = spec.transport === 'oci' ? await openLayoutDirectory(spec.path) : await (await import('./archive/oci-archive.js')).openOciArchive(spec.path);
  if (spec.transport === 'oci' && spec.digest) return { storage, repository: '', reference: spec.digest };
  if (spec.name === undefined) return { storage, repository: '', reference: await storage.soleReference() };
  const { repository, tag } = splitName(spec.name);
  return { storage, repository, reference: tag, tag };
}

export async function openFileTarget(spec: FileSpec): Promise<Storage> {
  if (spec.transport === 'docker-archive') throw usageError('docker-archive: can only be a source; export with -n oci:DIR or -n oci-archive:FILE.');
  if (spec.name !== undefined || (spec.transport === 'oci' && spec.digest)) {
    throw usageError(`-n ${spec.transport}:${spec.path} takes no image name; name the images with -t (written as org.opencontainers.image.ref.name).`);
  }
  if (spec.transport === 'oci') {
    const s = await stat(spec.path).catch(() => undefined);
    if (s && !s.isDirectory()) throw usageError(`-n oci:${spec.path}: ${spec.path} exists and is not a directory.`);
    return new LayoutStorage(resolve(spec.path), `oci:${spec.path}`);
  }
  const { OciArchiveWriter } = await import('./archive/oci-archive.js');
  return OciArchiveWriter.open(spec.path);
}

export async function openLayoutDirectory(path: string): Promise<LayoutReader> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isDirectory()) throw new AcrImportError('not-found', `oci:${path}: no such directory.`);
  const abs = resolve(path);
  return new LayoutReader(new DirectoryFiles(abs), `oci:${path}`, `oci:${abs}`);
}

/** A layout ref name as repository and tag: 'hello:v1' → hello, v1; 'v1' → '', v1 (skopeo's form). */
export function splitName(name: string): { repository: string; tag: string } {
  const colon = name.lastIndexOf(':');
  if (colon < 0 || name.indexOf('/', colon) >= 0) return { repository: '', tag: name };
  return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
}
