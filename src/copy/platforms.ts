// --platform: a subset of an index. One platform is imported as its manifest alone; several as
// a new index holding only their entries, in the source's order, with the index's other fields
// (mediaType, annotations) kept. Platforms match as containerd matches them: names normalised
// (aarch64 → arm64, x86_64 → amd64) and the variant defaulted (arm64 → v8, arm → v7).
import { AcrImportError, usageError } from '../errors.js';
import type { FetchedManifest } from '../content/storage.js';
import { digestOf } from '../oci/digest.js';
import { formatPlatform, type Descriptor, type Platform } from '../oci/media-types.js';

/** BuildKit's attestation manifests: `unknown/unknown` entries naming the image they attest. */
const REFERENCE_TYPE = 'vnd.docker.reference.type';
const REFERENCE_DIGEST = 'vnd.docker.reference.digest';

/** `linux/amd64`, `linux/arm64/v8,linux/arm/v7` and repeated flags → platforms, in the order given. */
export function parsePlatforms(values: readonly string[]): Platform[] {
  const out: Platform[] = [];
  for (const text of values.flatMap((v) => v.split(','))) {
    const parts = text.trim().split('/');
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9._-]+$/.test(p))) {
      throw usageError(`--platform ${JSON.stringify(text.trim())} is not os/arch[/variant] (such as linux/amd64 or linux/arm64/v8).`);
    }
    out.push({ os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) });
  }
  return out;
}

/** containerd's normalisation (platforms/database.go): the names a platform goes by, made one. */
export function normalizePlatform(p: Platform): { os: string; architecture: string; variant: string } {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (architecture) {
    case 'i386':
      architecture = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '8' || variant === '') variant = 'v8';
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '') variant = 'v7';
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
  }
  return { os, architecture, variant };
}

export function platformMatches(wanted: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  const a = normalizePlatform(wanted);
  const b = normalizePlatform(have);
  return a.os === b.os && a.architecture === b.architecture && a.variant === b.variant;
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.[REFERENCE_TYPE] === 'attestation-manifest';
}

export type PlatformSelection =
  /** One platform: its manifest, imported alone. */
  | { kind: 'manifest'; descriptor: Descriptor; platforms: string[]; attestationsLeftOut: Descriptor[] }
  /** Several: a new index of their entries, its bytes built here. */
  | { kind: 'index'; manifest: FetchedManifest; platforms: string[]; attestationsLeftOut: Descriptor[] };

/**
 * The entries of `index` that match `wanted`, in the index's order, with the attestation
 * manifests of those entries. An unknown platform is a usage error listing the available ones.
 */
export function selectPlatforms(index: FetchedManifest, wanted: readonly Platform[], where: string): PlatformSelection {
  const entries = Array.isArray(index.json.manifests) ? (index.json.manifests as Descriptor[]) : [];
  const images = entries.filter((d) => !isAttestation(d));
  const missing = wanted.filter((w) => !images.some((d) => platformMatches(w, d.platform)));
  if (missing.length) {
    const available = [...new Set(images.filter((d) => d.platform).map((d) => formatPlatform(d.platform)))];
    throw usageError(
      `${where} has no ${missing.map((p) => formatPlatform(p)).join(', ')} manifest.`,
      available.length ? `Available platforms: ${available.join(', ')}.` : 'Its entries name no platforms.',
    );
  }
  const chosen = new Set(images.filter((d) => wanted.some((w) => platformMatches(w, d.platform))).map((d) => d.digest));
  const attestations = entries.filter((d) => isAttestation(d) && chosen.has(d.annotations?.[REFERENCE_DIGEST] ?? ''));
  const kept = entries.filter((d) => chosen.has(d.digest) || attestations.includes(d));
  const platforms = kept.filter((d) => !isAttestation(d)).map((d) => formatPlatform(d.platform));
  if (chosen.size === 1) {
    // The manifest alone carries no index to hold an attestation beside it.
    return { kind: 'manifest', descriptor: kept.find((d) => chosen.has(d.digest))!, platforms, attestationsLeftOut: attestations };
  }
  // Every field of the source index but its list, in its order; compact JSON, so the same choice gives the same bytes.
  const bytes = Buffer.from(JSON.stringify({ ...index.json, manifests: kept }));
  const digest = digestOf(bytes, index.digest.split(':')[0]);
  return { kind: 'index', manifest: { digest, mediaType: index.mediaType, size: bytes.length, bytes, json: JSON.parse(bytes.toString('utf8')) as Record<string, unknown> }, platforms, attestationsLeftOut: [] };
}

/** --platform needs an index to choose from. */
export function notAnIndex(where: string, mediaType: string): AcrImportError {
  return usageError(`${where} is a single manifest (${mediaType}), not an index of platforms; leave out --platform.`);
}
