// --platform's rules on their own: parsing, containerd's matching, and the index a selection builds.
import { describe, expect, it } from 'vitest';
import { normalizePlatform, parsePlatforms, platformMatches, selectPlatforms } from '../../src/copy/platforms.js';
import { parseManifest } from '../../src/content/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { sha256 } from '../harness/index.js';

const d = (name: string, platform?: object, annotations?: Record<string, string>) => ({ mediaType: MediaType.ociManifest, digest: sha256(Buffer.from(name)), size: 100, ...(platform ? { platform } : {}), ...(annotations ? { annotations } : {}) });
const amd64 = d('amd64', { os: 'linux', architecture: 'amd64' });
const arm64 = d('arm64', { os: 'linux', architecture: 'arm64' });
const armv7 = d('armv7', { os: 'linux', architecture: 'arm', variant: 'v7' });
const attest = (of: { digest: string }, name: string) => d(name, { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': of.digest });
const index = (manifests: object[]) => {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests, annotations: { 'org.opencontainers.image.source': 'https://example.invalid/app' } }, null, 2));
  return parseManifest(bytes, 'test index');
};

describe('--platform values', () => {
  it('are os/arch[/variant], repeatable and comma-separated', () => {
    expect(parsePlatforms(['linux/amd64,linux/arm64/v8', 'windows/amd64'])).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'windows', architecture: 'amd64' },
    ]);
  });

  it.each(['linux', 'linux/amd64/v3/extra', 'linux//amd64', 'linux/am d64', ''])('%j is a usage error', (text) => {
    expect(() => parsePlatforms([text])).toThrow(expect.objectContaining({ kind: 'usage' }));
  });

  it('match as containerd matches them: names normalised, arm64 defaults to v8 and arm to v7', () => {
    expect(normalizePlatform({ os: 'Linux', architecture: 'aarch64' })).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(normalizePlatform({ os: 'linux', architecture: 'x86_64' })).toEqual({ os: 'linux', architecture: 'amd64', variant: '' });
    expect(normalizePlatform({ os: 'linux', architecture: 'armhf' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' })).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm' }, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm' }, { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(false);
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64', variant: 'v3' })).toBe(false);
  });
});

describe('a selection', () => {
  const source = index([amd64, arm64, armv7, attest(amd64, 'att-amd64'), attest(arm64, 'att-arm64'), attest(armv7, 'att-armv7')]);

  it('of one platform is its manifest alone', () => {
    const s = selectPlatforms(source, [{ os: 'linux', architecture: 'arm64', variant: 'v8' }], 'app:v1');
    expect(s).toMatchObject({ kind: 'manifest', descriptor: arm64, platforms: ['linux/arm64'] });
    expect(s.attestationsLeftOut.map((a) => a.digest)).toEqual([sha256(Buffer.from('att-arm64'))]);
  });

  it('of several is a new index of their entries in the source order, with their attestations and the index fields kept', () => {
    const s = selectPlatforms(source, [{ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'amd64' }], 'app:v1');
    if (s.kind !== 'index') throw new Error('expected an index');
    const json = JSON.parse(s.manifest.bytes.toString()) as { mediaType: string; annotations: object; manifests: { digest: string }[] };
    expect(json.manifests.map((m) => m.digest)).toEqual([amd64.digest, armv7.digest, sha256(Buffer.from('att-amd64')), sha256(Buffer.from('att-armv7'))]);
    expect(json.mediaType).toBe(MediaType.ociIndex);
    expect(json.annotations).toEqual(source.json.annotations);
    expect(s.manifest.digest).toBe(sha256(s.manifest.bytes));
    expect(s.manifest.digest).not.toBe(source.digest);
    expect(s.platforms).toEqual(['linux/amd64', 'linux/arm/v7']);
    // The same choice gives the same bytes, whatever the order it was asked in.
    const again = selectPlatforms(source, [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm' }], 'app:v1');
    expect(again.kind === 'index' && again.manifest.bytes.equals(s.manifest.bytes)).toBe(true);
  });

  it('of a platform the index does not have is a usage error listing those it has', () => {
    let err: unknown;
    try {
      selectPlatforms(source, [{ os: 'linux', architecture: 's390x' }], 'app:v1');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ kind: 'usage', message: 'app:v1 has no linux/s390x manifest.', hint: 'Available platforms: linux/amd64, linux/arm64, linux/arm/v7.' });
  });
});
