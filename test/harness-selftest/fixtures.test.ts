import { createHash } from 'node:crypto';
import { request } from 'undici';
import { describe, expect, inject, test } from 'vitest';
import {
  EMPTY_DESCRIPTOR,
  MediaTypes,
  blobSize,
  clientFor,
  fetchForeignRequests,
  getManifest,
  pullScope,
  pushImage,
  putRawManifest,
  sha256,
  uniqueRepo,
} from '../harness/index.js';

describe('fixture builder', () => {
  test('foreign layers: not in the registry, served by the foreign-layer server', async () => {
    const reg = inject('openRegistry');
    const foreign = inject('foreignLayerServer');
    for (const mediaTypes of ['docker', 'oci'] as const) {
      const repo = uniqueRepo(`selftest/foreign-${mediaTypes}`);
      const img = await pushImage(reg, repo, 'v1', {
        kind: 'image',
        mediaTypes,
        platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.2762' },
        layers: [{ size: 4096, foreign: { serverUrl: foreign.url } }, { size: 100 }],
      });
      const [fl, normal] = img.layers as [(typeof img.layers)[0], (typeof img.layers)[0]];
      expect(fl.mediaType).toBe(mediaTypes === 'docker' ? MediaTypes.dockerForeignLayerGzip : MediaTypes.ociNondistributableGzip);
      expect(fl.pushed).toBe(false);
      expect(await blobSize(reg, repo, fl.digest)).toBeUndefined();
      expect(await blobSize(reg, repo, normal.digest)).toBe(normal.size);
      const res = await request(fl.urls![0]!);
      const bytes = Buffer.from(await res.body.arrayBuffer());
      expect(sha256(bytes)).toBe(fl.digest);
      expect(bytes.length).toBe(fl.size);
      const ranged = await request(fl.urls![0]!, { headers: { range: 'bytes=100-199' } });
      expect(ranged.statusCode).toBe(206);
      expect(Buffer.from(await ranged.body.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
      expect(img.foreignBytes).toBe(fl.size);
      expect(img.totalBytes).toBe(img.size + img.config!.size + normal.size);
      const got = await getManifest(reg, repo, 'v1');
      expect(got.bytes.equals(img.bytes)).toBe(true);
    }
    const log = await fetchForeignRequests(foreign.url);
    expect(log.some((r) => r.status === 206 && !r.hadAuthorization)).toBe(true);
  });

  test('media type flavours, nested index, attestations, shared base layer, 51 platforms', async () => {
    const reg = inject('openRegistry');
    const docker = await pushImage(reg, uniqueRepo('selftest/docker'), 'v1', {
      kind: 'index',
      mediaTypes: 'docker',
      platforms: 3,
      children: [{ kind: 'index', mediaTypes: 'docker', platforms: 2 }],
    });
    expect(docker.mediaType).toBe(MediaTypes.dockerManifestList);
    expect(docker.children.map((c) => c.mediaType)).toEqual([
      MediaTypes.dockerManifest,
      MediaTypes.dockerManifest,
      MediaTypes.dockerManifest,
      MediaTypes.dockerManifestList,
    ]);
    expect(docker.manifests).toHaveLength(1 + 3 + 1 + 2);
    expect(docker.children[0]!.config!.mediaType).toBe(MediaTypes.dockerConfig);

    const oci = await pushImage(reg, uniqueRepo('selftest/oci'), 'v1', { kind: 'index', platforms: 2, attestations: true, shareBaseLayer: true, layersPerImage: 2 });
    expect(oci.mediaType).toBe(MediaTypes.ociIndex);
    const [img0, img1, att0] = oci.children as [typeof oci, typeof oci, typeof oci];
    expect(img0.layers[0]!.digest).toBe(img1.layers[0]!.digest); // shared base
    expect(img0.layers[1]!.digest).not.toBe(img1.layers[1]!.digest);
    expect(att0.descriptor).toMatchObject({
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': img0.digest },
    });
    const json = JSON.parse(oci.bytes.toString()) as { manifests: Array<{ platform: { architecture: string; variant?: string } }> };
    expect(json.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64', 'unknown', 'unknown']);
    // configs carry real diff_ids of the tar layers
    const cfg = JSON.parse(img0.config!.bytes!.toString()) as { rootfs: { diff_ids: string[] }; architecture: string };
    expect(cfg.rootfs.diff_ids).toEqual(img0.layers.map((l) => l.diffId));
    const { gunzipSync } = await import('node:zlib');
    expect(sha256(gunzipSync(img0.layers[1]!.bytes!))).toBe(img0.layers[1]!.diffId);

    const many = await pushImage(reg, uniqueRepo('selftest/many'), 'v1', { kind: 'index', platforms: 51 });
    const plats = (JSON.parse(many.bytes.toString()) as { manifests: Array<{ platform: unknown }> }).manifests.map((m) => JSON.stringify(m.platform));
    expect(new Set(plats).size).toBe(51);
    // two fixtures never share blobs unless asked
    const other = await pushImage(reg, uniqueRepo('selftest/many'), 'v1', { kind: 'index', platforms: 2 });
    const digests = new Set(many.blobs.map((b) => b.digest));
    expect(other.blobs.some((b) => digests.has(b.digest))).toBe(false);
  });

  test('helm chart and generic artifact with the empty descriptor', async () => {
    const reg = inject('htpasswdRegistry');
    const repo = uniqueRepo('selftest/artifacts');
    const helm = await pushImage(reg, repo, '0.1.0', { kind: 'helm', name: 'demo', version: '0.1.0' });
    expect(helm.config!.mediaType).toBe(MediaTypes.helmConfig);
    expect(helm.layers[0]!.mediaType).toBe(MediaTypes.helmChart);
    const art = await pushImage(reg, repo, 'sbom', {
      kind: 'artifact',
      artifactType: 'application/vnd.example.sbom.v1+json',
      files: [{ mediaType: 'application/spdx+json', content: '{"spdxVersion":"SPDX-2.3"}', title: 'sbom.spdx.json' }],
      subject: helm.descriptor,
    });
    expect(art.json).toMatchObject({ artifactType: 'application/vnd.example.sbom.v1+json', config: EMPTY_DESCRIPTOR, subject: { digest: helm.digest } });
    const bare = await pushImage(reg, repo, 'bare', { kind: 'artifact', artifactType: 'application/vnd.example.marker' });
    expect(bare.json.layers).toEqual([EMPTY_DESCRIPTOR]);
    const got = await getManifest(reg, repo, 'sbom');
    expect(got.bytes.equals(art.bytes)).toBe(true);
    expect(got.mediaType).toBe(MediaTypes.ociManifest);
  });

  test('64 MiB layer is streamed and hashed on the fly', async () => {
    const reg = inject('openRegistry');
    const repo = uniqueRepo('selftest/large');
    const img = await pushImage(reg, repo, 'v1', { kind: 'image', layers: [{ size: 64 * 1024 * 1024 }] });
    const layer = img.layers[0]!;
    expect(layer.bytes).toBeUndefined();
    expect(layer.size).toBeGreaterThan(64 * 1024 * 1024);
    const res = await clientFor(reg).request('GET', `/v2/${repo}/blobs/${layer.digest}`, { scopes: [pullScope(repo)] });
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of res.body) {
      hash.update(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
    expect(n).toBe(layer.size);
    expect(`sha256:${hash.digest('hex')}`).toBe(layer.digest);
  });

  test('putRawManifest reports odd cases without throwing', async () => {
    const reg = inject('openRegistry');
    const repo = uniqueRepo('selftest/raw');
    const img = await pushImage(reg, repo, 'v1', { kind: 'image' });
    const unknown = await putRawManifest(reg, repo, 'odd', { schemaVersion: 2, mediaType: 'application/vnd.example.unknown+json' }, 'application/vnd.example.unknown+json');
    expect(unknown.status).toBe(400);
    const huge = await putRawManifest(
      reg,
      repo,
      'huge',
      { ...(JSON.parse(img.bytes.toString()) as object), annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } },
      MediaTypes.ociManifest,
    );
    expect(huge.status).toBe(400); // Distribution 2.8 caps manifest bodies at 4 MiB
    const ok = await putRawManifest(reg, repo, 'copy', img.bytes, MediaTypes.ociManifest);
    expect(ok).toMatchObject({ status: 201, digest: img.digest, registryDigest: img.digest });
  });
});
