// The CLI between registries, OCI layouts and archives, checked with skopeo, which reads and
// writes the same layouts: registry → oci: → oci-archive: → registry is byte-identical, images
// a layout already holds stay, and a `docker save` archive gets the manifest skopeo builds.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { pushImage, run, uniqueRepo } from '../harness/index.js';
import { cleanEnv, cli, expectExit, expectNoStack, skopeoCopyAll, skopeoRaw } from '../import/helpers.js';
import { writeDockerSave } from './docker-save.js';
import { tempDir } from './storages.js';

const open = inject('openRegistry');
const work = tempDir('round-trip');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const skopeo = async (...args: string[]) => (await run('skopeo', args)).stdout;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('round trips through a layout and an archive', () => {
  it('registry → oci:DIR → oci-archive:FILE → registry keeps every byte; skopeo reads both files', async () => {
    // Two platforms, attestations, 3 MiB layers: streamed uploads, not only monolithic ones.
    const src = await pushImage(open, uniqueRepo('rt/src'), 'v1', { kind: 'index', platforms: 2, attestations: true, layersPerImage: 2, layerSize: 3 * 1024 * 1024 });
    const dir = join(work, 'layout');
    const archive = join(work, 'images.tar');
    const back = uniqueRepo('rt/back');

    const exported = await cli(['-n', `oci:${dir}`, '--source', `${open.host}/${src.repo}:v1`, '-t', 'app:v1', '-o', 'json']);
    expectExit(exported, 0);
    const sizes = { blobs: src.blobs.length, bytes: exported.json().totalBytes };
    expect(exported.json()).toMatchObject({ sourceDigest: src.digest, target: `oci:${dir}`, blobs: { total: sizes.blobs, copied: sizes.blobs } });
    expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect((await skopeo('inspect', '--raw', `oci:${dir}:app:v1`)).equals(src.bytes)).toBe(true);

    const packed = await cli(['-n', `oci-archive:${archive}`, '--source', `oci:${dir}:app:v1`, '-o', 'json']);
    expectExit(packed, 0);
    expect(packed.json()).toMatchObject({ sourceDigest: src.digest, bytesCopied: sizes.bytes });
    expect((await skopeo('inspect', '--raw', `oci-archive:${archive}:app:v1`)).equals(src.bytes)).toBe(true);
    // Nothing left beside the archive: the staging directory and the temporary tar are gone.
    expect(readdirSync(work).filter((f) => f.startsWith('.'))).toEqual([]);

    const imported = await cli(['-n', open.host, '--source', `oci-archive:${archive}:app:v1`, '-t', `${back}:v1`, '-o', 'json']);
    expectExit(imported, 0);
    expect(imported.json()).toMatchObject({ sourceDigest: src.digest, bytesCopied: sizes.bytes });
    expect((await skopeoRaw(`${open.host}/${back}:v1`)).equals(src.bytes)).toBe(true);
    // skopeo checks every manifest and blob digest of the copy.
    expect((await skopeoCopyAll(`${open.host}/${back}:v1`)).length).toBeGreaterThan(sizes.blobs);
  });

  it('a layout written by skopeo is read, and one written here is copied by skopeo to a registry unchanged', async () => {
    const src = await pushImage(open, uniqueRepo('rt/skopeo'), 'v1', { kind: 'image', layers: 3, layerSize: 200_000 });
    const dir = join(work, 'skopeo-layout');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${open.host}/${src.repo}:v1`, `oci:${dir}:v1`);
    // skopeo names the image with a bare tag, so the target is given.
    const viaUs = uniqueRepo('rt/via-us');
    expectExit(await cli(['-n', open.host, '--source', `oci:${dir}:v1`, '-t', `${viaUs}:v1`]), 0);
    const copiedBySkopeo = await skopeoRaw(`${open.host}/${viaUs}:v1`);

    const ours = join(work, 'our-layout');
    expectExit(await cli(['-n', `oci:${ours}`, '--source', `${open.host}/${viaUs}:v1`, '-t', 'mine:v1']), 0);
    const viaSkopeo = uniqueRepo('rt/via-skopeo');
    await skopeo('copy', '--quiet', '--dest-tls-verify=false', `oci:${ours}:mine:v1`, `docker://${open.host}/${viaSkopeo}:v1`);
    expect((await skopeoRaw(`${open.host}/${viaSkopeo}:v1`)).equals(copiedBySkopeo)).toBe(true);
    expect(sha256(copiedBySkopeo)).toBe((JSON.parse((await skopeo('inspect', `oci:${ours}:mine:v1`)).toString()) as { Digest: string }).Digest);
  });

  it('a layout that holds other images keeps them, and a second export of the same image writes nothing', async () => {
    const a = await pushImage(open, uniqueRepo('rt/keep-a'), 'v1', { kind: 'image', layers: 1 });
    const b = await pushImage(open, uniqueRepo('rt/keep-b'), 'v1', { kind: 'index', platforms: 2 });
    const dir = join(work, 'shared-layout');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${open.host}/${a.repo}:v1`, `oci:${dir}:theirs`);
    const args = ['-n', `oci:${dir}`, '--source', `${open.host}/${b.repo}:v1`, '-t', 'ours:v1', '-o', 'json'];
    expectExit(await cli(args), 0);
    expect((await skopeo('inspect', '--raw', `oci:${dir}:theirs`)).equals(a.bytes)).toBe(true);
    expect((await skopeo('inspect', '--raw', `oci:${dir}:ours:v1`)).equals(b.bytes)).toBe(true);
    const again = await cli(args);
    expectExit(again, 0);
    expect(again.json()).toMatchObject({ upToDate: true, bytesCopied: 0 });
    // A tag that points elsewhere is a conflict, as in a registry.
    const moved = await cli(['-n', `oci:${dir}`, '--source', `${open.host}/${a.repo}:v1`, '-t', 'ours:v1']);
    expectExit(moved, 6);
  });

  it('an archive gains an image per export and keeps the ones it held, read by skopeo', async () => {
    const a = await pushImage(open, uniqueRepo('rt/add-a'), 'v1', { kind: 'image', layers: 2, layerSize: 300_000 });
    const b = await pushImage(open, uniqueRepo('rt/add-b'), 'v1', { kind: 'index', platforms: 2 });
    const archive = join(work, 'growing.tar');
    expectExit(await cli(['-n', `oci-archive:${archive}`, '--source', `${open.host}/${a.repo}:v1`, '-t', 'a:v1']), 0);
    const second = await cli(['-n', `oci-archive:${archive}`, '--source', `${open.host}/${b.repo}:v1`, '-t', 'b:v1', '-t', 'a:v1', '--force', '-o', 'json']);
    expectExit(second, 0);
    const third = await cli(['-n', `oci-archive:${archive}`, '--source', `${open.host}/${a.repo}:v1`, '-t', 'a:v2', '-o', 'json']);
    expectExit(third, 0);
    // Its blobs stayed in the archive when a:v1 moved: none is fetched again.
    expect(third.json().blobs).toMatchObject({ copied: 0, skipped: a.blobs.length });
    expect((await skopeo('inspect', '--raw', `oci-archive:${archive}:a:v1`)).equals(b.bytes)).toBe(true);
    expect((await skopeo('inspect', '--raw', `oci-archive:${archive}:b:v1`)).equals(b.bytes)).toBe(true);
    expect((await skopeo('inspect', '--raw', `oci-archive:${archive}:a:v2`)).equals(a.bytes)).toBe(true);
    // Those blobs went from the archive as it was into the new one: skopeo copies the whole image.
    const copied = uniqueRepo('rt/add-copied');
    await skopeo('copy', '--quiet', '--dest-tls-verify=false', `oci-archive:${archive}:a:v2`, `docker://${open.host}/${copied}:v1`);
    expect((await skopeoRaw(`${open.host}/${copied}:v1`)).equals(a.bytes)).toBe(true);
  });

  it('an export into an archive that fails midway leaves the archive as it was', async () => {
    const first = await pushImage(open, uniqueRepo('rt/arch-first'), 'v1', { kind: 'image', layers: 1 });
    const second = await pushImage(open, uniqueRepo('rt/arch-second'), 'v1', { kind: 'image', layers: 2 });
    const archive = join(work, 'kept.tar');
    expectExit(await cli(['-n', `oci-archive:${archive}`, '--source', `${open.host}/${first.repo}:v1`, '-t', 'first:v1']), 0);
    const before = readFileSync(archive);
    // A layout source with one layer file removed: the copy fails after other blobs were written.
    const broken = join(work, 'broken-layout');
    expectExit(await cli(['-n', `oci:${broken}`, '--source', `${open.host}/${second.repo}:v1`, '-t', 'second:v1']), 0);
    const layer = second.blobs.find((x) => x.mediaType.includes('layer'))!;
    rmSync(join(broken, 'blobs', 'sha256', layer.digest.slice(7)));
    const r = await cli(['-n', `oci-archive:${archive}`, '--source', `oci:${broken}:second:v1`]);
    expectExit(r, 4);
    expectNoStack(r.stderr);
    expect(r.stderr).toContain(layer.digest);
    expect(readFileSync(archive).equals(before)).toBe(true);
    expect(readdirSync(work).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

describe('exports resume and report progress as imports do', () => {
  it('a failed export into oci:DIR keeps the blobs it wrote; the re-run copies only the rest', async () => {
    const src = await pushImage(open, uniqueRepo('rt/resume'), 'v1', { kind: 'image', layers: 3, layerSize: 500_000 });
    const full = join(work, 'resume-source');
    expectExit(await cli(['-n', `oci:${full}`, '--source', `${open.host}/${src.repo}:v1`, '-t', 'app:v1']), 0);
    // Hide the smallest blob of the source: copied last (largest first, one at a time), so the
    // export fails once the others are written.
    const smallest = [...src.blobs].sort((a, b) => a.size - b.size)[0]!;
    const hidden = join(full, 'blobs', 'sha256', smallest.digest.slice(7));
    const kept = readFileSync(hidden);
    rmSync(hidden);
    const dir = join(work, 'resume-target');
    const failed = await cli(['-n', `oci:${dir}`, '--source', `oci:${full}:app:v1`, '--concurrency', '1']);
    expectExit(failed, 4);
    expect(existsSync(join(dir, 'index.json'))).toBe(false);
    writeFileSync(hidden, kept);
    const resumed = await cli(['-n', `oci:${dir}`, '--source', `oci:${full}:app:v1`, '-o', 'json']);
    expectExit(resumed, 0);
    expect(resumed.json().blobs.copied).toBeLessThan(src.blobs.length);
    expect(resumed.json().blobs.copied + resumed.json().blobs.skipped).toBe(src.blobs.length);
    expect((await skopeo('inspect', '--raw', `oci:${dir}:app:v1`)).equals(src.bytes)).toBe(true);
  });

  it('in CI, an export into an archive prints a line per blob and the tag, as an import does', async () => {
    const src = await pushImage(open, uniqueRepo('rt/progress'), 'v1', { kind: 'image', layers: [{ size: 3 * 1024 * 1024 }] });
    const layer = [...src.blobs].sort((a, b) => b.size - a.size)[0]!;
    const short = layer.digest.slice(7, 19);
    const r = await cli(['-n', `oci-archive:${join(work, 'progress.tar')}`, '--source', `${open.host}/${src.repo}:v1`, '-t', 'app:v1'], { env: cleanEnv({ CI: 'true' }) });
    expectExit(r, 0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`blob ${short} 3\\.0 MiB: uploaded`));
    expect(r.stderr).toMatch(/^ *app:v1: tagged$/m);
  });
});

describe('docker save archives', () => {
  it('are imported with the manifest skopeo builds for them, its digest printed, compressed layers included', async () => {
    const file = join(work, 'saved.tar');
    const saved = await writeDockerSave(file, [
      { repoTags: ['hello:v1'], layers: [{ hello: 'hi' }, { 'etc/data': Buffer.alloc(300_000, 7) }], gzipLayers: [1] },
      { repoTags: ['other:v2', 'other:latest'], layers: [{ other: 'x' }] },
    ]);
    const skopeoManifest = await skopeo('inspect', '--raw', `docker-archive:${file}:hello:v1`);
    const repo = uniqueRepo('rt/saved');
    const r = await cli(['-n', open.host, '--source', `docker-archive:${file}:hello:v1`, '-t', `${repo}:v1`, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().sourceDigest).toBe(sha256(skopeoManifest));
    expect(r.json().totalBytes).toBe(saved.images[0]!.config.bytes.length + saved.images[0]!.layers.reduce((n, l) => n + l.size, 0));
    expect((await skopeoRaw(`${open.host}/${repo}:v1`)).equals(skopeoManifest)).toBe(true);
    await skopeoCopyAll(`${open.host}/${repo}:v1`);

    // By position, and by a name docker normalises; the recorded name is the default target.
    const second = await cli(['-n', open.host, '--source', `docker-archive:${file}:@1`, '-o', 'json']);
    expectExit(second, 0);
    expect(second.json().sourceDigest).toBe(sha256(await skopeo('inspect', '--raw', `docker-archive:${file}:other:v2`)));
    expect(second.json().targets.map((t) => t.reference)).toEqual([`${open.host}/library/other:v2`]);
    const text = await cli(['-n', open.host, '--source', `docker-archive:${file}:docker.io/library/other:latest`, '-t', `${repo}:other`]);
    expectExit(text, 0);
    expect(text.stderr).toContain(sha256(await skopeo('inspect', '--raw', `docker-archive:${file}:other:v2`)));
  });
});

describe('limits, dry runs and refusals behave as for registries', () => {
  it('a dry run into a layout writes nothing; a layer over --max-layer-size is refused before writing', async () => {
    const src = await pushImage(open, uniqueRepo('rt/dry'), 'v1', { kind: 'image', layers: 1, layerSize: 100_000 });
    const dir = join(work, 'dry-layout');
    const dry = await cli(['-n', `oci:${dir}`, '--source', `${open.host}/${src.repo}:v1`, '-t', 'app:v1', '--dry-run', '-o', 'json']);
    expectExit(dry, 0);
    expect(dry.json()).toMatchObject({ dryRun: true, totalBytes: src.blobs.reduce((n, x) => n + x.size, 0) });
    expect(existsSync(dir)).toBe(false);
    const archive = join(work, 'limited.tar');
    const limited = await cli(['-n', `oci-archive:${archive}`, '--source', `${open.host}/${src.repo}:v1`, '-t', 'app:v1', '--max-layer-size', '50KB']);
    expectExit(limited, 5);
    expect(existsSync(archive)).toBe(false);
    expect(readdirSync(work).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('refuses what a layout or an archive cannot be, with exit code 2 and no stack trace', async () => {
    const dir = join(work, 'two-images');
    const a = await pushImage(open, uniqueRepo('rt/two-a'), 'v1', { kind: 'image' });
    const b = await pushImage(open, uniqueRepo('rt/two-b'), 'v1', { kind: 'image', seed: 'other' });
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${open.host}/${a.repo}:v1`, `oci:${dir}:a`);
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${open.host}/${b.repo}:v1`, `oci:${dir}:b`);
    const cases: [string[], RegExp][] = [
      [['-n', open.host, '--source', `oci:${dir}`, '-t', 'x:v1'], /holds 2 images; say which one/],
      [['-n', `oci:${dir}`, '--source', `${open.host}/${a.repo}:v1`, '--repository', 'x'], /names images by tag/],
      [['-n', `docker-archive:${join(work, 'x.tar')}`, '--source', `${open.host}/${a.repo}:v1`], /can only be a source/],
      [['-n', open.host, '--source', `oci:${dir}:a`], /names no repository/],
      [['-n', open.host, '--source', 'oci:', '-t', 'x:v1'], /has no path/],
      [['-n', open.host, '--source', `oci:${dir}:a`, '-t', 'x:v1', '--server-side'], /imports from registry to registry/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expectExit(r, 2);
      expect(r.stderr).toMatch(message);
      expectNoStack(r.stderr);
    }
    writeFileSync(join(work, 'not-a-tar.tar'), 'hello');
    const notTar = await cli(['-n', open.host, '--source', `oci-archive:${join(work, 'not-a-tar.tar')}`, '-t', 'x:v1']);
    expect(notTar.code).not.toBe(0);
    expectNoStack(notTar.stderr);
  });
});
