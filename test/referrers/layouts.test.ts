// Referrers through an air gap: registry → OCI layout (a directory, a tar of one) → registry.
// The layout lists referrers as index.json entries of their own, as oras does; skopeo reads
// the layout, and the registry at the end knows every referrer from its subject.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { run, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { startReferrersApi } from '../harness/referrers-api.js';
import { LayoutStorage } from '../../src/content/layout/writer.js';
import { openLayoutDirectory } from '../../src/content/open.js';
import { OciArchiveWriter, openOciArchive } from '../../src/content/archive/oci-archive.js';
import { skopeoRaw } from '../import/helpers.js';
import { tempDir } from '../conformance/storages.js';
import { copyWith, registryAt } from './helpers.js';
import { pushSignedImage, NOTATION_SIGNATURE, SPDX } from './signed-image.js';

const open = inject('openRegistry');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('referrers in OCI layouts', () => {
  it('registry → oci:DIR → registry keeps every referrer, byte for byte, findable from its subject', async () => {
    const api = await stopAfterAll(startReferrersApi({ upstream: open.url }));
    const repo = uniqueRepo('ref/layout-src');
    const signed = await pushSignedImage(api, repo);
    const dir = tempDir('referrers-layout');
    dirs.push(dir);

    await copyWith({ source: registryAt(api.url), target: new LayoutStorage(dir), repo, reference: 'v1', targetRepo: 'app' });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[] };
    const untagged = index.manifests.filter((m) => !m.annotations?.['org.opencontainers.image.ref.name']);
    expect(untagged.map((m) => [m.digest, m.artifactType]).sort()).toEqual(signed.referrers.map((r) => [r.digest, r.json.artifactType]).sort());
    expect(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean).sort()).toEqual(['app:v1', `app:${signed.cosign.tag}`].sort());
    // skopeo reads the layout the referrers sit in.
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${dir}:app:v1`]);
    expect(stdout.equals(signed.image.bytes)).toBe(true);

    const layout = await openLayoutDirectory(dir);
    expect((await layout.referrers('app', signed.image.digest)).map((d) => d.digest).sort()).toEqual([signed.indexSignature.digest, signed.sbom.digest].sort());
    expect((await layout.referrers('app', signed.image.digest, { artifactTypes: [SPDX] })).map((d) => d.digest)).toEqual([signed.sbom.digest]);

    const back = await stopAfterAll(startReferrersApi({ upstream: open.url }));
    const targetRepo = uniqueRepo('ref/layout-dst');
    const { plan } = await copyWith({ source: layout, target: registryAt(back.url), repo: 'app', reference: 'v1', targetRepo });
    expect(plan.referrers).toHaveLength(5);
    for (const r of signed.referrers) expect((await skopeoRaw(`${open.host}/${targetRepo}@${r.digest}`)).equals(r.bytes)).toBe(true);
    expect((await skopeoRaw(`${open.host}/${targetRepo}:${signed.cosign.tag}`)).equals(signed.cosign.bytes)).toBe(true);
    expect(back.recorded.get(targetRepo)!.get(signed.amd64.digest)!.map((r) => [r.digest, r.artifactType])).toEqual([[signed.amd64Signature.digest, NOTATION_SIGNATURE]]);
  });

  it('registry → oci-archive:FILE → registry as well, and the archive still names its one image', async () => {
    const repo = uniqueRepo('ref/archive-src');
    const signed = await pushSignedImage(open, repo, { tagSchema: true });
    const dir = tempDir('referrers-archive');
    dirs.push(dir);
    const file = join(dir, 'signed.tar');
    const writer = await OciArchiveWriter.open(file);
    try {
      await copyWith({ source: registryAt(open.url), target: writer, repo, reference: 'v1', targetRepo: 'app' });
    } finally {
      await writer.close();
    }
    const archive = await openOciArchive(file);
    // Referrers and cosign's tag beside the image: `oci-archive:FILE` alone still means the image.
    expect(await archive.soleReference()).toBe(signed.image.digest);
    const targetRepo = uniqueRepo('ref/archive-dst');
    const { plan } = await copyWith({ source: archive, target: registryAt(open.url), repo: 'app', reference: 'v1', targetRepo });
    expect(plan.referrers.map((r) => r.descriptor.digest).sort()).toEqual([...signed.referrers.map((r) => r.digest), signed.cosign.digest].sort());
    for (const r of signed.referrers) expect((await skopeoRaw(`${open.host}/${targetRepo}@${r.digest}`)).equals(r.bytes)).toBe(true);
  });
});
