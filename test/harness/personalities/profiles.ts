/**
 * Named personalities: each is one way a well-known registry behaves, with where that behaviour
 * is documented. The interop tests run the import against every one, as source and as target
 * where it applies, and the README's "Works with" table lists them.
 */
import type { Profile } from './profile.js';

const FIVE_MIB = 5 * 1024 * 1024;

const profiles = {
  /** The control: Distribution as it ships, with Basic sign-in. */
  distribution: {
    name: 'distribution',
    behaviour: 'CNCF Distribution as it ships: absolute upload Location with `_state`, `Range: 0-0` for an empty session, mounts done',
    documented: 'opencontainers/distribution-spec spec.md v1.1.1; distribution/distribution v2.8',
    clientMust: 'speak the OCI distribution API; count bytes itself (0-0 means empty or 1 byte)',
    source: true,
    target: true,
    door: { kind: 'basic' },
    behaviours: {},
  },
  'registry.k8s.io': {
    name: 'registry.k8s.io',
    behaviour: 'reads only; `/v2/` open; manifest and blob GET and HEAD answer 307 to a regional registry on another origin',
    documented: 'kubernetes/registry.k8s.io cmd/archeio/internal/app/handlers.go',
    clientMust: 'follow redirects for manifests and blobs, GET and HEAD; send no credentials it was not given',
    source: true,
    target: false,
    door: { kind: 'anonymous' },
    behaviours: { readOnly: true, openBase: true, redirectToRegional: { prefix: 'k8s-artifacts-prod/images' } },
  },
  'docker-hub': {
    name: 'docker-hub',
    behaviour: 'token realm on another host; `ratelimit-limit`/`ratelimit-remaining` on manifest GETs, HEAD free; blobs 307 to a CDN with signed URLs',
    documented: 'docker/docs docker-hub/usage/pulls.md and allow-list.md; distribution token spec',
    clientMust: 'trade credentials for a token at the realm only; HEAD before GET; no Authorization to the CDN',
    source: true,
    target: true,
    door: { kind: 'token', anonymousPull: true },
    behaviours: { rateLimit: { limit: 100, window: 21600 }, signedBlobUrls: true },
  },
  'anonymous-token': {
    name: 'anonymous-token',
    behaviour: 'a challenge even for anonymous pulls (anonymous token from the realm), with a placeholder scope; blobs 307 to signed URLs where HEAD is 403',
    documented: 'GHCR and Quay: cloudflare/serverless-registry#148, buildkite/cleanroom#330, containerd/stargz-snapshotter#167, quay/quay-docs#149',
    clientMust: 'fetch an anonymous token for the repository it needs, not the placeholder; never HEAD a signed URL',
    source: true,
    target: true,
    door: { kind: 'token', anonymousPull: true, placeholderScope: 'repository:user/image:pull' },
    behaviours: { signedBlobUrls: true },
  },
  ecr: {
    name: 'ecr',
    behaviour: '`OCI-Chunk-Min-Length`, 416 for a small chunk not last or out of order; PATCH 201 and `Range` stuck after chunk 1; manifest GET without Docker-Content-Digest; mounts refused (202); blobs from S3 that refuses Authorization',
    documented: 'ECR API UploadLayerPart; aws/containers-roadmap#2831, #1931, #2860; apple/containerization#790; oras-project/oras-java#334',
    clientMust: 'honour the chunk minimum; count the offset itself; hash manifests; use the session a refused mount opened; drop Authorization on redirects',
    source: true,
    target: true,
    door: { kind: 'basic', username: 'AWS' },
    behaviours: { chunkMinLength: FIVE_MIB, strictContentRange: true, stuckRange: true, dropDigest: 'manifest-get', refuseMounts: true, signedBlobUrls: true },
  },
  'blob-store': {
    name: 'blob-store',
    behaviour: 'blob GET 307 to a signed URL on a blob store (HEAD there 403); upload `Location` on the store with a signed query; the store refuses any Authorization',
    documented: 'distribution-spec "Pushing blobs" (Location may be on another host); S3 and Azure Blob pre-signed URLs; ACR endpoint reference (*.blob.core.windows.net)',
    clientMust: 'use the signed URL unchanged; send no Authorization to another origin',
    source: true,
    target: true,
    door: { kind: 'basic' },
    behaviours: { signedBlobUrls: true, signedUploadUrls: true },
  },
  acr: {
    name: 'acr',
    behaviour: 'relative upload `Location` with `_nouploadcache` and `_state`; a geo-replica losing an upload session (404 BLOB_UPLOAD_UNKNOWN at the closing PUT)',
    documented: 'Azure/acr#588; azure-sdk-for-python#29738; apple/swift-container-plugin#44',
    clientMust: 'resolve Location on the request URL and keep its query; start a lost session over',
    source: true,
    target: true,
    door: { kind: 'basic' },
    behaviours: { relativeUploadLocation: true, loseSessionOnce: true },
  },
  minimal: {
    name: 'minimal',
    behaviour: 'manifest HEAD 405; no Docker-Content-Digest anywhere; manifests served as `application/json`',
    documented: 'distribution-spec: Docker-Content-Digest is only SHOULD; small registries and static servers',
    clientMust: 'fall back from HEAD to GET; hash the bytes; take the media type from the JSON',
    source: true,
    target: true,
    door: { kind: 'basic' },
    behaviours: { manifestHead405: true, dropDigest: 'all', manifestContentType: 'application/json' },
  },
  'rewriting-target': {
    name: 'rewriting-target',
    behaviour: 'answers a manifest PUT with the Docker-Content-Digest of other bytes (it rewrote the manifest)',
    documented: 'distribution-spec "Pushing Manifests" (Docker-Content-Digest of the stored manifest)',
    clientMust: 'fail with an integrity error, not report success',
    source: false,
    target: true,
    door: { kind: 'basic' },
    behaviours: { rewriteManifestDigest: true },
  },
} satisfies Record<string, Profile>;

export type ProfileName = keyof typeof profiles;
export const PROFILES: Record<ProfileName, Profile> = profiles;
