// Reading a manifest's bytes into what the engine walks, the same way for every storage that
// is not a registry (the registry client has its own, tied to HTTP headers).
import { AcrImportError } from '../errors.js';
import { digestOf } from '../oci/digest.js';
import { MediaType, isSchema1 } from '../oci/media-types.js';
import type { FetchedManifest } from './storage.js';

/** Manifests larger than this are refused, as registries refuse them. */
const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

/**
 * `bytes` as a manifest: `where` names it in messages, `digest` (when known) is checked, and
 * `mediaType` is the type its descriptor gave, used when the JSON carries none.
 */
export function parseManifest(bytes: Buffer, where: string, expected: { digest?: string; mediaType?: string } = {}): FetchedManifest {
  if (bytes.length > MANIFEST_MAX_BYTES) throw new AcrImportError('integrity', `The manifest ${where} is larger than ${MANIFEST_MAX_BYTES / 1024 / 1024} MiB, the limit for manifests.`);
  const digest = digestOf(bytes, expected.digest?.split(':')[0]);
  if (expected.digest && digest !== expected.digest) throw new AcrImportError('integrity', `The manifest ${where} does not match its digest ${expected.digest}: its bytes hash to ${digest}.`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
  } catch {
    throw new AcrImportError('integrity', `The manifest ${where} is not a JSON object.`);
  }
  // `mediaType` is optional in OCI manifests (Docker's require it): without it, the shape tells.
  const mediaType =
    typeof json.mediaType === 'string' && json.mediaType ? json.mediaType : expected.mediaType || (Array.isArray(json.manifests) ? MediaType.ociIndex : MediaType.ociManifest);
  if (isSchema1(mediaType) || json.schemaVersion === 1) {
    throw new AcrImportError('integrity', `${where} is a Docker schema 1 manifest, a deprecated format that cannot be copied with its digest intact.`);
  }
  return { digest, mediaType, size: bytes.length, bytes, json };
}
