// Manifests read from files: their digest checked, their media type found when the JSON omits it.
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/content/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { AcrImportError } from '../../src/errors.js';
import { sha256 } from '../harness/index.js';

const bytes = (o: object) => Buffer.from(JSON.stringify(o));

describe('parseManifest', () => {
  it('takes the media type from the JSON, else from the descriptor, else from the shape (it is optional in OCI)', () => {
    const withType = bytes({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: {}, layers: [] });
    expect(parseManifest(withType, 'x').mediaType).toBe(MediaType.dockerManifest);
    const index = bytes({ schemaVersion: 2, manifests: [] });
    expect(parseManifest(index, 'x', { mediaType: 'application/vnd.custom+json' }).mediaType).toBe('application/vnd.custom+json');
    expect(parseManifest(index, 'x').mediaType).toBe(MediaType.ociIndex);
    expect(parseManifest(bytes({ schemaVersion: 2, config: {}, layers: [] }), 'x').mediaType).toBe(MediaType.ociManifest);
  });

  it('refuses bytes that do not match the digest, JSON that is not an object, and schema 1', () => {
    const b = bytes({ schemaVersion: 2, manifests: [] });
    expect(parseManifest(b, 'x', { digest: sha256(b) }).digest).toBe(sha256(b));
    const kinds = [
      () => parseManifest(b, 'x', { digest: sha256('other') }),
      () => parseManifest(Buffer.from('[1]'), 'x'),
      () => parseManifest(bytes({ schemaVersion: 1, fsLayers: [] }), 'x'),
    ].map((f) => {
      try {
        f();
        return 'accepted';
      } catch (err) {
        return (err as AcrImportError).kind;
      }
    });
    expect(kinds).toEqual(['integrity', 'integrity', 'integrity']);
  });
});
