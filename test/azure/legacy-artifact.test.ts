// Legacy OCI artifact manifests (application/vnd.oci.artifact.manifest.v1+json, from the OCI 1.1
// drafts), which ACR kept for those pushed meanwhile: asked for, walked through their `blobs`, and
// copied byte-identically between two ACR-like origins.
import { describe, expect, inject, it } from 'vitest';
import { LEGACY_ARTIFACT_MANIFEST } from '../harness/acr-origin.js';
import { blobSize, getManifest, pushImage, putBlob, putRawManifest, startAcrOrigin, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { azureTestEnv, cli, expectCode } from './helpers.js';

const acr = inject('acrOrigin');
const target = { url: acr.url, username: acr.username, password: acr.password };

describe('legacy OCI artifact manifests', () => {
  it('are copied byte-identically with their blobs (the manifest lists "blobs", not "layers")', async () => {
    const source = await stopAfterAll(startAcrOrigin());
    const src = { url: source.url, username: 'testuser', password: 'testpass' };
    const repo = uniqueRepo('azure/legacy-artifact');
    const subject = await pushImage(src, repo, 'v1', { kind: 'image' });
    const sbom = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: repo }));
    const blob = await putBlob(src, repo, sbom);
    const signature = await putBlob(src, repo, Buffer.from('signature bytes'));
    const manifest = Buffer.from(
      JSON.stringify({
        mediaType: LEGACY_ARTIFACT_MANIFEST,
        artifactType: 'application/spdx+json',
        blobs: [
          { mediaType: 'application/spdx+json', digest: blob.digest, size: blob.size },
          { mediaType: 'application/octet-stream', digest: signature.digest, size: signature.size },
        ],
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
        annotations: { 'org.opencontainers.artifact.created': '2023-01-01T00:00:00Z' },
      }),
    );
    const put = await putRawManifest(src, repo, 'sbom', manifest, LEGACY_ARTIFACT_MANIFEST);
    expect(put.status).toBe(201);

    const dest = uniqueRepo('azure/legacy-artifact-copy');
    const r = await cli(['-n', acr.host, '--source', `${source.host}/${repo}:sbom`, '-t', `${dest}:sbom`, '-u', 'testuser', '-p', 'testpass', '--target-username', acr.username, '--target-password', acr.password, '-o', 'json'], {
      env: azureTestEnv(),
    });
    expectCode(r, 0);
    expect(JSON.parse(r.stdout).sourceDigest).toBe(put.digest);
    const copied = await getManifest(target, dest, 'sbom', [LEGACY_ARTIFACT_MANIFEST]);
    expect(copied.status).toBe(200);
    expect(copied.bytes.equals(manifest)).toBe(true);
    expect(copied.mediaType).toBe(LEGACY_ARTIFACT_MANIFEST);
    expect(await blobSize(target, dest, blob.digest)).toBe(blob.size);
    expect(await blobSize(target, dest, signature.digest)).toBe(signature.size);

    // Asked for without the type in Accept, the origin answers as Distribution does: not found.
    const hidden = await getManifest(src, repo, 'sbom');
    expect(hidden.status).toBe(404);
  });
});
