// Media types of the OCI image spec and Docker's image manifest v2, and the manifest shapes
// the copy engine walks. Fields are only those the engine reads; bytes are never re-serialised.

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  /** OCI 1.1's draft artifact manifest (`blobs`, no config), dropped from the final spec; ACR kept those pushed meanwhile. */
  ociArtifactManifest: 'application/vnd.oci.artifact.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociNondistributablePrefix: 'application/vnd.oci.image.layer.nondistributable.',
} as const;

/** What a manifest GET/HEAD accepts: every manifest and index type we can copy. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.ociArtifactManifest, MediaType.dockerList, MediaType.dockerManifest, MediaType.dockerSchema1Signed, MediaType.dockerSchema1].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: Platform;
  annotations?: Record<string, string>;
  artifactType?: string;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
}

/** The config media type that makes an image manifest Docker's rather than OCI's. */
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const MANIFEST_TYPES = new Set<string>([MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerList, MediaType.dockerManifest, MediaType.dockerSchema1, MediaType.dockerSchema1Signed]);

/** Whether a Content-Type names a manifest type (not `application/json`, `application/octet-stream` or nothing). */
export function isManifestType(contentType: string | undefined): boolean {
  return MANIFEST_TYPES.has(bareType(contentType));
}

/**
 * A manifest's media type: its own `mediaType` field, else the Content-Type when that names a
 * manifest type, else its shape. Minimal registries serve manifests as `application/json`,
 * `application/octet-stream` or without a type, and OCI makes the field optional: an index has
 * `manifests` (Docker lists always carry the field, so one without it is OCI's), an image is
 * Docker's when its config is Docker's.
 */
export function manifestMediaType(json: Record<string, unknown>, contentType: string | undefined): string {
  if (typeof json.mediaType === 'string' && json.mediaType) return json.mediaType;
  if (isManifestType(contentType)) return bareType(contentType);
  if (json.schemaVersion === 1) return MediaType.dockerSchema1Signed;
  if (Array.isArray(json.manifests)) return MediaType.ociIndex;
  const config = json.config as { mediaType?: unknown } | undefined;
  return config?.mediaType === DOCKER_CONFIG ? MediaType.dockerManifest : MediaType.ociManifest;
}

function bareType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isIndexType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerList;
}

export function isArtifactManifest(mediaType: string): boolean {
  return mediaType === MediaType.ociArtifactManifest;
}

export function isSchema1(mediaType: string): boolean {
  return mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed;
}

/** Foreign (Windows base) and non-distributable layers: not pushed to registries by default. */
export function isForeignLayer(d: Descriptor): boolean {
  return d.mediaType === MediaType.dockerForeignLayer || d.mediaType.startsWith(MediaType.ociNondistributablePrefix);
}

export function formatPlatform(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/') + (p['os.version'] ? ` (${p['os.version']})` : '');
}
