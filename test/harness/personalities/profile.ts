/**
 * What a personality can do on top of the real registry behind it. Each flag is one behaviour a
 * well-known registry has; profiles.ts names the combinations and says where each is documented.
 */
import type { FrontDoorOptions } from './front-door.js';

export interface Behaviours {
  /** GET and HEAD only; anything else 405 UNSUPPORTED. */
  readOnly?: boolean;
  /** `/v2/` answers 200 without a challenge. */
  openBase?: boolean;
  /** Manifest and blob GET/HEAD answer 307 to the same path under `prefix` on the side origin (a regional registry). */
  redirectToRegional?: { prefix: string };
  /** Blob GETs answer 307 to a short-lived signed URL on the side origin: HEAD there is 403, Authorization refused, the query must come back unchanged. */
  signedBlobUrls?: boolean;
  /** Upload `Location` on the side origin with a signed query that must be used unchanged; Authorization refused there. */
  signedUploadUrls?: boolean;
  /** Upload `Location` relative, with `_nouploadcache` and `_state` in its query. */
  relativeUploadLocation?: boolean;
  /** Manifest HEAD answers 405. */
  manifestHead405?: boolean;
  /** No Docker-Content-Digest on manifest GETs, or on any answer. */
  dropDigest?: 'manifest-get' | 'all';
  /** Content-Type of manifests served, whatever they are. */
  manifestContentType?: string;
  /** `OCI-Chunk-Min-Length` on POST; a PATCH after a smaller one is refused with 416. */
  chunkMinLength?: number;
  /** A PATCH whose Content-Range does not start where the session ends is refused with 416. */
  strictContentRange?: boolean;
  /** PATCH answers 201, and `Range` stops at the end of the first chunk (also on GET of the session). */
  stuckRange?: boolean;
  /** Mounts are not done: the POST opens an upload session (202). */
  refuseMounts?: boolean;
  /** Manifest PUTs are answered with the Docker-Content-Digest of other bytes. */
  rewriteManifestDigest?: boolean;
  /** Pull metering headers on manifest GETs (HEADs are free). */
  rateLimit?: { limit: number; window: number };
  /** The first PUT closing an upload of each blob answers 404 BLOB_UPLOAD_UNKNOWN. */
  loseSessionOnce?: boolean;
}

export interface Profile {
  name: string;
  /** The behaviour, as a user meets it. */
  behaviour: string;
  /** Where it is documented: spec section, the registry's docs or source, issue threads. */
  documented: string;
  /** What a copy client has to do about it. */
  clientMust: string;
  source: boolean;
  target: boolean;
  door: FrontDoorOptions;
  behaviours: Behaviours;
}
