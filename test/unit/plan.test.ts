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

/** A fake source that counts manifest GETs; `credential` says how it was read. */
function countingSource(docs: Record<string, object>, registry = 'fake.example', credential = 'basic'): ReadOnlyStorage & { gets: string[] } {
  const base = fakeSource(docs, registry);
  const gets: string[] = [];
  return {
    ...base,
    anonymous: credential === 'anonymous',
    gets,
    fetchManifest: async (repo, ref, signal) => {
      gets.push(ref);
      return base.fetchManifest(repo, ref, signal);
    },
  };
}

const hex = (n: number) => n.toString(16).padStart(64, '0');
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const imageWithLayer = (size: number) => ({ schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('c'), size: 2 }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('e'), size }] });

describe('descriptor digests follow the reference parser rules', () => {
  it.each([
    ['md5', `md5:${'a'.repeat(32)}`, /"md5" is not supported; only sha256 and sha512/],
    ['a short sha256', `sha256:${'a'.repeat(63)}`, /sha256 digest has 64 hex digits, this one has 63/],
    ['upper-case hex', `sha256:${'A'.repeat(64)}`, /lower case/],
    ['an unknown algorithm', `foo:${'a'.repeat(64)}`, /unknown digest algorithm "foo"/],
    ['no algorithm', 'a'.repeat(64), /":" is missing/],
  ])('refuses a child with %s as an integrity error, before fetching it', async (_what, digest, message) => {
    const a = d('a');
    const source = countingSource({ [a]: { schemaVersion: 2, mediaType: INDEX, manifests: [child(d('b')), child(digest)] } });
    const err = await planImport(source, emptyTarget, options(a)).catch((e) => e);
    expect(err).toBeInstanceOf(AcrImportError);
    expect(err.kind).toBe('integrity');
    expect(err.message).toMatch(message);
    expect(source.gets).toEqual([a]);
  });

  it('refuses an md5 layer in an image manifest', async () => {
    const a = d('a');
    const m = imageWithLayer(10);
    m.layers[0]!.digest = `md5:${'a'.repeat(32)}`;
    const err = await planImport(countingSource({ [a]: m }), emptyTarget, options(a)).catch((e) => e);
    expect(err.kind).toBe('integrity');
    expect(err.message).toMatch(/invalid digest "md5:a+": the digest algorithm "md5" is not supported/);
  });

  it('accepts sha512 children', async () => {
    const a = d('a');
    const b = `sha512:${'b'.repeat(128)}`;
    const plan = await planImport(countingSource({ [a]: { schemaVersion: 2, mediaType: INDEX, manifests: [child(b)] }, [b]: imageWithLayer(10) }), emptyTarget, options(a));
    expect(plan.manifests.map((m) => m.digest)).toEqual([b, a]);
  });
});

describe('the manifest limit is checked as descriptors are discovered', () => {
  it('an index of 300 children is refused after one GET, naming the rule', async () => {
    const a = d('a');
    const children = Array.from({ length: 300 }, (_, i) => child(`sha256:${hex(i + 1)}`));
    const source = countingSource({ [a]: { schemaVersion: 2, mediaType: INDEX, manifests: children } });
    const err = await planImport(source, emptyTarget, options(a)).catch((e) => e);
    expect(err.kind).toBe('limit');
    expect(err.message).toMatch(/at least 300 manifests, more than 50: ACR import's limit of 50 manifests per image, for every import/);
    expect(err.hint).toMatch(/--max-manifests/);
    expect(source.gets).toEqual([a]);
  });

  it('nested indexes count every level, and the walk stops at the level that passes the limit', async () => {
    const a = d('a');
    const inner = (i: number) => `sha256:${hex(1000 + i)}`;
    const docs: Record<string, object> = {
      [a]: { schemaVersion: 2, mediaType: INDEX, manifests: [child(inner(0)), child(inner(1))] },
      [inner(0)]: { schemaVersion: 2, mediaType: INDEX, manifests: Array.from({ length: 3 }, (_, i) => child(`sha256:${hex(i + 1)}`)) },
      [inner(1)]: { schemaVersion: 2, mediaType: INDEX, manifests: Array.from({ length: 3 }, (_, i) => child(`sha256:${hex(i + 10)}`)) },
    };
    for (let i = 0; i < 20; i++) docs[`sha256:${hex(i + 1)}`] = imageWithLayer(1);
    const source = countingSource(docs);
    const err = await planImport(source, emptyTarget, { ...options(a), maxManifests: 6, concurrency: 1 }).catch((e) => e);
    expect(err.kind).toBe('limit');
    // 2 inner indexes + 3 + 3 children = 8 > 6, found on reading the second inner index.
    expect(err.message).toMatch(/at least \d+ manifests, more than 6: the limit set with --max-manifests/);
    expect(source.gets.length).toBeLessThan(6);
    // Raised to 8, the same graph plans whole.
    const fresh = countingSource(docs);
    const plan = await planImport(fresh, emptyTarget, { ...options(a), maxManifests: 8 });
    expect(plan.manifestCount).toBe(8);
  });

  it('the bytes of manifests stay within a budget: announced sizes stop the walk before fetching', async () => {
    const a = d('a');
    const children = Array.from({ length: 10 }, (_, i) => ({ ...child(`sha256:${hex(i + 1)}`), size: 4 * 1024 * 1024 }));
    const source = countingSource({ [a]: { schemaVersion: 2, mediaType: INDEX, manifests: children } });
    const err = await planImport(source, emptyTarget, options(a)).catch((e) => e);
    expect(err.kind).toBe('limit');
    expect(err.message).toMatch(/manifests come to more than 32\.0 MiB .*budget for manifests/);
    expect(source.gets).toEqual([a]);
  });

  it('the bytes actually fetched count too, when descriptors understate them', async () => {
    const a = d('a');
    const big = { ...imageWithLayer(1), annotations: { pad: 'x'.repeat(3000) } };
    const docs: Record<string, object> = { [a]: { schemaVersion: 2, mediaType: INDEX, manifests: Array.from({ length: 5 }, (_, i) => child(`sha256:${hex(i + 1)}`)) } };
    for (let i = 0; i < 5; i++) docs[`sha256:${hex(i + 1)}`] = big;
    const source = countingSource(docs);
    const err = await planImport(source, emptyTarget, { ...options(a), maxManifestBytes: 8000, concurrency: 1 }).catch((e) => e);
    expect(err.kind).toBe('limit');
    expect(err.message).toMatch(/more than 7\.8 KiB/);
    // Each child is some 3 KiB: the third passes 8000 bytes. Two are read at a time (manifests are
    // small requests), so the fourth was already asked for; the fifth never is.
    const each = Buffer.byteLength(JSON.stringify(big));
    expect(each).toBeGreaterThan(3000);
    expect(source.gets.length).toBe(5);
  });
});

describe('the layer size limit follows the source', () => {
  const a = d('a');
  const over = imageWithLayer(2 * 1024 ** 3 + 1);
  const opts = (o: Partial<PlanOptions> = {}) => ({ ...options(a), maxLayerSize: undefined, ...o });

  it('a well-known public registry gets ACR\'s 2 GiB, even read with credentials', async () => {
    const err = await planImport(countingSource({ [a]: over }, 'docker.io', 'basic'), emptyTarget, opts()).catch((e) => e);
    expect(err.kind).toBe('limit');
    expect(err.message).toMatch(/over the 2\.0 GiB layer size limit: ACR import allows 2\.0 GiB per layer from public registries, and docker\.io is a public registry/);
  });

  it('a source read anonymously counts as public', async () => {
    const err = await planImport(countingSource({ [a]: over }, 'registry.example', 'anonymous'), emptyTarget, opts()).catch((e) => e);
    expect(err.message).toMatch(/registry\.example was read anonymously, as a public registry is/);
  });

  it('a private source read with credentials has no layer limit', async () => {
    const plan = await planImport(countingSource({ [a]: over }, 'myacr.azurecr.io', 'exchange'), emptyTarget, opts());
    expect(plan.totalBytes).toBe(2 * 1024 ** 3 + 1 + 2);
  });

  it('--max-layer-size applies to every source, and says so', async () => {
    const err = await planImport(countingSource({ [a]: imageWithLayer(2000) }, 'myacr.azurecr.io', 'exchange'), emptyTarget, opts({ maxLayerSize: 1000 })).catch((e) => e);
    expect(err.message).toMatch(/over the 1000 B layer size limit: the limit set with --max-layer-size, for every source/);
    const raised = await planImport(countingSource({ [a]: over }, 'docker.io', 'anonymous'), emptyTarget, opts({ maxLayerSize: 4 * 1024 ** 3 }));
    expect(raised.blobs[0]!.size).toBe(2 * 1024 ** 3 + 1);
  });
});
