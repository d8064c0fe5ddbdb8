// Copies with the engine between harness registries, and reads back what a user would check.
import { afterAll, expect } from 'vitest';
import { executePlan } from '../../src/copy/execute.js';
import { planImport, type PlanOptions } from '../../src/copy/plan.js';
import { RegistryStorage } from '../../src/content/registry/storage.js';
import type { CopyEvent } from '../../src/copy/events.js';
import type { ReadOnlyStorage, Storage } from '../../src/content/storage.js';
import { clientFor } from '../registry/helpers.js';
import { getManifest, MediaTypes, type Descriptor } from '../harness/index.js';
import type { Transport } from '../../src/transport/http.js';
import { schemaTag } from './signed-image.js';

const transports: Transport[] = [];
afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
});

/** A registry storage on `url`, anonymous. */
export function registryAt(url: string): RegistryStorage {
  const { client, transport } = clientFor(url);
  transports.push(transport);
  return new RegistryStorage(client);
}

export interface Copy {
  source: ReadOnlyStorage;
  target: Storage;
  repo: string;
  reference: string;
  targetRepo: string;
  tag?: string;
}

/** Plans and runs one import, keeping the events. */
export async function copyWith(c: Copy, options: Partial<PlanOptions> = {}) {
  const events: CopyEvent[] = [];
  const onEvent = (e: CopyEvent) => events.push(e);
  const plan = await planImport(c.source, c.target, {
    sourceRepository: c.repo,
    sourceReference: c.reference,
    targets: [{ repository: c.targetRepo, tag: c.tag ?? 'v1' }],
    force: false,
    maxManifests: 50,
    includeForeignLayers: false,
    concurrency: 4,
    includeReferrers: true,
    onEvent,
    ...options,
  });
  const { transport } = clientFor('http://127.0.0.1:1');
  transports.push(transport);
  const stats = await executePlan(c.source, c.target, plan, { sourceRepository: c.repo, concurrency: 4, transport, onEvent });
  return { plan, stats, events };
}

/** The referrers tag-schema index of `subject` in `repo`, as the registry serves it (undefined when absent). */
export async function tagSchemaIndex(url: string, repo: string, subject: string): Promise<{ bytes: Buffer; manifests: Descriptor[] } | undefined> {
  const got = await getManifest({ url }, repo, schemaTag(subject), [MediaTypes.ociIndex]);
  if (got.status === 404) return undefined;
  expect(got.status).toBe(200);
  return { bytes: got.bytes, manifests: (JSON.parse(got.bytes.toString()) as { manifests: Descriptor[] }).manifests };
}
