// Edge cases of planning that a real registry cannot produce (digests are content addresses, so
// no real index can contain itself): a fake source serves whatever bytes the test says.
import { describe, expect, it } from 'vitest';
import { planImport, type PlanOptions } from '../../src/copy/plan.js';
import type { ReadOnlyStorage } from '../../src/content/storage.js';
import { AcrImportError } from '../../src/errors.js';

const INDEX = 'application/vnd.oci.image.index.v1+json';

function fakeSource(docs: Record<string, object>, name = 'fake.example'): ReadOnlyStorage {
  return {
    name,
    location: name,
    describe: (repo, ref) => `${name}/${repo}@${ref}`,
    resolve: async (_repo, ref) => (docs[ref] ? { digest: ref, mediaType: INDEX, size: 1 } : undefined),
    fetchManifest: async (_repo, ref) => {
      const json = docs[ref] as Record<string, unknown>;
      return { digest: ref, mediaType: (json.mediaType as string) ?? INDEX, size: 1, bytes: Buffer.from(JSON.stringify(json)), json };
    },
    fetchBlob: () => {
      throw new Error('planning reads no blobs');
    },
  };
}

const emptyTarget = fakeSource({}, 'target.example');

function options(ref: string): PlanOptions {
  return {
    sourceRepository: 'app',
    sourceReference: ref,
    targets: [{ repository: 'app', tag: 'v1' }],
    force: false,
    maxManifests: 50,
    maxLayerSize: 2 * 1024 ** 3,
    includeForeignLayers: false,
    concurrency: 4,
  };
}

const d = (c: string) => `sha256:${c.repeat(64)}`;
const child = (digest: string) => ({ mediaType: INDEX, digest, size: 10 });

describe('planning refuses malformed graphs before writing anything', () => {
  it('refuses an index that refers to itself', async () => {
    const a = d('a');
    const source = fakeSource({ [a]: { schemaVersion: 2, mediaType: INDEX, manifests: [child(a)] } });
    await expect(planImport(source, emptyTarget, options(a))).rejects.toThrow(/refers to itself/);
  });

  it('refuses a cycle through another index', async () => {
    const a = d('a');
    const b = d('b');
    const source = fakeSource({
      [a]: { schemaVersion: 2, mediaType: INDEX, manifests: [child(b)] },
      [b]: { schemaVersion: 2, mediaType: INDEX, manifests: [child(a)] },
    });
    const err = await planImport(source, emptyTarget, options(a)).catch((e) => e);
    expect(err).toBeInstanceOf(AcrImportError);
    expect(err.kind).toBe('integrity');
    expect(err.message).toMatch(/refers to itself/);
  });

  it('refuses a descriptor without a digest or size', async () => {
    const a = d('a');
    const source = fakeSource({ [a]: { schemaVersion: 2, mediaType: INDEX, manifests: [{ mediaType: INDEX, size: 3 }] } });
    await expect(planImport(source, emptyTarget, options(a))).rejects.toThrow(/malformed descriptor/);
  });
});
