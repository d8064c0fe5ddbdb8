// Every storage, opened the same way for the conformance suite: a writable one, and a way to
// read back what it committed the way a later run would (a fresh reader over the same place).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { RegistryStorage } from '../../src/content/registry/storage.js';
import { MemoryStorage } from '../../src/content/memory.js';
import { LayoutStorage } from '../../src/content/layout/writer.js';
import { OciArchiveWriter, openOciArchive } from '../../src/content/archive/oci-archive.js';
import { openLayoutDirectory } from '../../src/content/open.js';
import type { ReadOnlyStorage, Storage } from '../../src/content/storage.js';
import { RegistryClient } from '../../src/content/registry/client.js';
import { testTransport } from '../registry/helpers.js';

export interface OpenedStorage {
  storage: Storage;
  /** A new reader of what was committed, as a later run sees it. */
  reopen(): Promise<ReadOnlyStorage>;
  /** The path on disk, for storages that have one. */
  path?: string;
  close(): Promise<void>;
}

export interface StorageKind {
  name: string;
  /** Whether tags live in one namespace (repository names are part of the ref name). */
  files: boolean;
  open(): Promise<OpenedStorage>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `acr-import-${prefix}-`));
}

export const storageKinds: StorageKind[] = [
  {
    name: 'registry',
    files: false,
    async open() {
      const reg = inject('openRegistry');
      const transport = testTransport();
      const storage = new RegistryStorage(new RegistryClient(transport, reg.host, reg.host, { kind: 'anonymous' }));
      return { storage, reopen: async () => storage, close: () => transport.close() };
    },
  },
  {
    name: 'memory',
    files: false,
    async open() {
      const storage = new MemoryStorage();
      return { storage, reopen: async () => storage, close: async () => undefined };
    },
  },
  {
    name: 'oci layout',
    files: true,
    async open() {
      const dir = join(tempDir('layout'), 'images');
      const storage = new LayoutStorage(dir);
      return {
        storage,
        path: dir,
        reopen: () => openLayoutDirectory(dir),
        close: async () => rmSync(join(dir, '..'), { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'oci archive',
    files: true,
    async open() {
      const dir = tempDir('archive');
      const file = join(dir, 'images.tar');
      const storage = await OciArchiveWriter.open(file);
      return {
        storage,
        path: file,
        reopen: () => openOciArchive(file),
        close: async () => {
          await storage.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];
