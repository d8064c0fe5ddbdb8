// Manifests from minimal registries: served as application/json, application/octet-stream or
// without a type, without a `mediaType` field, HEAD unsupported or without Docker-Content-Digest;
// and a target that rewrites what it receives (its answer's digest differs): an integrity error.
import { createHash } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { failFirst, faults, getManifest, pushImage, putRawManifest, startProxy, stopAfterAll, uniqueRepo, MediaTypes, type FaultHook } from '../harness/index.js';
import { MediaType, manifestMediaType } from '../../src/oci/media-types.js';
import { engineClient } from './helpers.js';
import { cli, expectExit, listTags, skopeoRaw } from '../import/helpers.js';

const open = inject('openRegistry');
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An image and an index pushed again without their `mediaType` field (OCI makes it optional). */
async function withoutMediaType() {
  const repo = uniqueRepo('bare');
  const index = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2 });
  const strip = (json: Record<string, unknown>) => JSON.stringify({ ...json, mediaType: undefined });
  const image = await putRawManifest(open, repo, 'image', strip(index.children[0]!.json), MediaTypes.ociManifest);
  const list = await putRawManifest(open, repo, 'index', strip(index.json), MediaTypes.ociIndex);
  expect([image.status, list.status]).toEqual([201, 201]);
  return { repo, image: image.digest, index: list.digest };
}

const contentType = (type: string | null): FaultHook => (r) => (r.kind === 'manifest' && (r.method === 'GET' || r.method === 'HEAD') ? faults.headers({ 'content-type': type }) : undefined);

describe('manifest media types', () => {
  for (const type of ['application/json', 'application/octet-stream', null]) {
    it(`infers the type from the JSON when the registry says ${type ?? 'nothing'} and the field is absent`, async () => {
      const { repo, image, index } = await withoutMediaType();
      const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: contentType(type) }));
      const { client } = engineClient(proxy.url);
      expect(await client.getManifest(repo, 'image')).toMatchObject({ digest: image, mediaType: MediaType.ociManifest });
      expect(await client.getManifest(repo, 'index')).toMatchObject({ digest: index, mediaType: MediaType.ociIndex });
      // HEAD says nothing useful either: the digest and type come from the bytes.
      expect(await client.headManifest(repo, 'index')).toMatchObject({ digest: index, mediaType: MediaType.ociIndex });
    });
  }

  it('tells Docker from OCI by the config media type', () => {
    const image = (config: string) => ({ schemaVersion: 2, config: { mediaType: config, digest: sha('c'), size: 1 }, layers: [] });
    expect(manifestMediaType(image('application/vnd.docker.container.image.v1+json'), 'application/json')).toBe(MediaType.dockerManifest);
    expect(manifestMediaType(image('application/vnd.oci.image.config.v1+json'), undefined)).toBe(MediaType.ociManifest);
    expect(manifestMediaType(image('application/vnd.oci.image.config.v1+json'), MediaType.dockerManifest)).toBe(MediaType.dockerManifest);
    expect(manifestMediaType({ schemaVersion: 2, mediaType: MediaType.dockerList, manifests: [] }, 'application/json')).toBe(MediaType.dockerList);
  });

  it('imports with the CLI from a registry that serves manifests as application/json, the target getting the right type', async () => {
    const { repo, index } = await withoutMediaType();
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: contentType('application/json') }));
    const dest = uniqueRepo('bare-dst');
    expectExit(await cli(['--name', open.host, '--source', `${proxy.host}/${repo}:index`, '-t', `${dest}:v1`]), 0);
    expect(sha(await skopeoRaw(`${open.host}/${dest}:v1`))).toBe(index);
    expect((await getManifest(open, dest, 'v1')).mediaType).toBe(MediaType.ociIndex);
  });
});

describe('manifest HEAD', () => {
  for (const status of [405, 501, 400]) {
    it(`falls back to GET when HEAD answers ${status}`, async () => {
      const repo = uniqueRepo('nohead');
      const image = await pushImage(open, repo, 'v1', { kind: 'image' });
      const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (r) => (r.kind === 'manifest' && r.method === 'HEAD' ? faults.status(status) : undefined) }));
      const { client } = engineClient(proxy.url);
      expect(await client.headManifest(repo, 'v1')).toEqual({ digest: image.digest, mediaType: image.mediaType, size: image.size });
      expect(await client.headManifest(repo, 'missing')).toBeUndefined();
    });
  }

  it('falls back to GET when HEAD has no Docker-Content-Digest', async () => {
    const repo = uniqueRepo('nodigest');
    const image = await pushImage(open, repo, 'v1', { kind: 'image' });
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (r) => (r.kind === 'manifest' ? faults.headers({ 'docker-content-digest': null }) : undefined) }));
    const { client } = engineClient(proxy.url);
    expect((await client.headManifest(repo, 'v1'))?.digest).toBe(image.digest);
    expect(proxy.requests.map((q) => q.method)).toEqual(['HEAD', 'GET']);
  });
});

describe('a target that rewrites manifests', () => {
  it('is an integrity error (exit 9) when a manifest PUT answers another digest, and nothing is tagged', async () => {
    const repo = uniqueRepo('rw');
    await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2 });
    const rewritten = sha('rewritten');
    const target = await stopAfterAll(startProxy({ upstream: open.url, hook: (r) => (r.kind === 'manifest' && r.method === 'PUT' ? faults.headers({ 'docker-content-digest': rewritten }) : undefined) }));
    const dest = uniqueRepo('rw-dst');
    const r = await cli(['--name', target.host, '--source', `${open.host}/${repo}:v1`, '-t', `${dest}:v1`]);
    expectExit(r, 9);
    expect(r.stderr).toContain(rewritten);
    expect(await listTags(open.url, dest)).toEqual([]);
  });
});

describe('a manifest PUT refused with DIGEST_INVALID', () => {
  // What Distribution answers when another push is re-linking one of the manifest's blobs at that
  // moment (two copies of one image at once): the bytes are right, the registry misread a link.
  const refused = faults.status(400, { body: JSON.stringify({ errors: [{ code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' }] }) });

  it('is sent again, the same bytes, and the copy completes', async () => {
    const src = await pushImage(open, uniqueRepo('link-race/src'), 'v1', { kind: 'index', platforms: 2 });
    const hook = failFirst(1, (r) => r.kind === 'manifest' && r.method === 'PUT', refused);
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook }));
    const dst = uniqueRepo('link-race/dst');
    const r = await cli(['-n', proxy.host, '--source', `${open.host}/${src.repo}:v1`, '-t', `${dst}:v1`]);
    expectExit(r, 0);
    expect(hook.count()).toBe(1);
    const puts = proxy.requests.filter((q) => q.kind === 'manifest' && q.method === 'PUT');
    // The refused one and its second try, then the rest: every manifest once more than refused.
    expect(puts.filter((q) => q.status === 400)).toHaveLength(1);
    expect(puts.filter((q) => q.status === 201)).toHaveLength(3);
    expect(sha(await skopeoRaw(`${open.host}/${dst}:v1`))).toBe(src.digest);
  });

  it('fails with the registry\'s words once --retries are spent, and writes no tag', async () => {
    const src = await pushImage(open, uniqueRepo('link-race/src'), 'v1', { kind: 'image' });
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'manifest' && q.method === 'PUT' ? refused : undefined) }));
    const dst = uniqueRepo('link-race/refused');
    const r = await cli(['-n', proxy.host, '--source', `${open.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--retries', '2']);
    // A digest the registry will not take: the integrity exit code.
    expectExit(r, 9);
    expect(r.stderr).toContain('DIGEST_INVALID');
    expect(proxy.requests.filter((q) => q.kind === 'manifest' && q.method === 'PUT')).toHaveLength(3);
    expect(await listTags(open.url, dst)).toEqual([]);
  });
});
