// What the copy engine reports while it works. Progress output and the json summary listen to
// these; the engine itself never prints.
import type { Descriptor } from '../oci/media-types.js';
import type { ReferrerIndexing } from '../content/storage.js';

export type BlobOutcome = 'uploaded' | 'mounted' | 'skipped' | 'foreign-skipped' | 'foreign-copied';

export type CopyEvent =
  | { type: 'resolved'; reference: string; digest: string; mediaType: string }
  | { type: 'manifest-fetched'; digest: string; mediaType: string; platform?: string }
  | { type: 'blob-start'; blob: Descriptor; repository: string }
  | { type: 'blob-progress'; blob: Descriptor; bytes: number }
  | { type: 'blob-done'; blob: Descriptor; repository: string; outcome: BlobOutcome }
  | { type: 'manifest-pushed'; digest: string; repository: string; skipped: boolean }
  | { type: 'tag-pushed'; repository: string; tag: string; digest: string; skipped: boolean }
  /** A referrer in place and findable from its subject: by the registry's API, its tag schema, a layout's index, or a cosign tag. */
  | { type: 'referrer-written'; repository: string; digest: string; subject: string; artifactType?: string; how: ReferrerIndexing | 'tag' | 'stored' }
  | { type: 'note'; message: string };

export type EventSink = (e: CopyEvent) => void;
