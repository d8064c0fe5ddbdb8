// Referrers (OCI distribution spec 1.1, "Listing Referrers" and "Referrers Tag Schema"): the
// manifests whose `subject` is a given manifest — signatures, SBOMs, attestations. What every
// storage shares: the descriptor a referrer is listed under, the `artifactType` filter, and the
// tag schema a registry without the API keeps (a `sha256-<hex>` tag holding an index of them).
import { AcrImportError } from '../errors.js';
import { MediaType, type Descriptor } from '../oci/media-types.js';

// The shapes needed here, not the storage interface: the registry client, which the interface
// is built on, lists referrers with these functions.
interface ParsedManifest {
  digest: string;
  mediaType: string;
  size: number;
  json: Record<string, unknown>;
}
interface TagReader {
  resolve(repository: string, reference: string, signal?: AbortSignal): Promise<unknown>;
  fetchManifest(repository: string, reference: string, signal?: AbortSignal): Promise<ParsedManifest>;
  describe(repository: string, reference: string): string;
}

/** The tag under which the referrers of `digest` are listed when the registry has no API: `<alg>-<hex>`, at most 128 characters. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-').slice(0, 128);
}

/** Cosign's tags beside an image, named after its digest: signatures, attestations, SBOMs (sigstore/cosign specs). */
export const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'] as const;
const COSIGN_TAG = /(?:^|:)[a-z0-9]+-[a-f0-9]{32,}\.(?:sig|att|sbom)$/;

/** Whether a tag (or a layout ref name, `repo:tag`) is one of cosign's. */
export function isCosignTag(name: string): boolean {
  return COSIGN_TAG.test(name);
}

/** The subject digest a manifest refers to, or undefined. */
export function subjectOf(m: Pick<ParsedManifest, 'json'>): string | undefined {
  const subject = m.json.subject as { digest?: unknown } | undefined;
  return typeof subject?.digest === 'string' ? subject.digest : undefined;
}

/**
 * How a referrer is listed (spec: the referrers response): its descriptor with `artifactType`
 * (its own, else its config's media type) and its annotations.
 */
export function referrerDescriptor(m: ParsedManifest): Descriptor {
  const config = m.json.config as { mediaType?: unknown } | undefined;
  const artifactType = typeof m.json.artifactType === 'string' ? m.json.artifactType : typeof config?.mediaType === 'string' ? config.mediaType : undefined;
  const annotations = m.json.annotations && typeof m.json.annotations === 'object' ? (m.json.annotations as Record<string, string>) : undefined;
  return { mediaType: m.mediaType, digest: m.digest, size: m.size, ...(artifactType ? { artifactType } : {}), ...(annotations ? { annotations } : {}) };
}

/** The referrers whose artifactType is one of `types` (all of them without a filter). */
export function withArtifactTypes(list: Descriptor[], types: readonly string[] | undefined): Descriptor[] {
  return types?.length ? list.filter((d) => d.artifactType !== undefined && types.includes(d.artifactType)) : list;
}

/** The `manifests` of a referrers list (an API answer or a tag-schema index), each checked to be a descriptor. */
export function referrerList(json: unknown, where: string): Descriptor[] {
  const list = (json as { manifests?: unknown } | null)?.manifests;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new AcrImportError('integrity', `The referrers list of ${where} has a 'manifests' field that is not a list.`);
  return list.filter((d): d is Descriptor => {
    const x = d as Partial<Descriptor> | null;
    return Boolean(x && typeof x.digest === 'string' && typeof x.mediaType === 'string' && Number.isSafeInteger(x.size));
  });
}

/** The referrers listed under the tag schema's `sha256-<hex>` tag; none when there is no such tag. */
export async function referrersFromTag(storage: TagReader, repository: string, digest: string, signal?: AbortSignal): Promise<Descriptor[]> {
  const tag = referrersTag(digest);
  if (!(await storage.resolve(repository, tag, signal))) return [];
  const index = await storage.fetchManifest(repository, tag, signal);
  return referrerList(index.json, storage.describe(repository, tag));
}

/**
 * The tag-schema index with `referrer` added, keeping every entry already there (written by
 * others too); undefined when it is listed already. Compact JSON: the same entries give the same bytes.
 */
export function addToTagIndex(existing: ParsedManifest | undefined, referrer: Descriptor): Buffer | undefined {
  const json = existing ? { ...existing.json } : { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  const list = referrerList(json, 'the referrers tag');
  if (list.some((d) => d.digest === referrer.digest)) return undefined;
  return Buffer.from(JSON.stringify({ ...json, manifests: [...(Array.isArray(json.manifests) ? json.manifests : []), referrer] }));
}
