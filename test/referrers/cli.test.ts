// --include-referrers, --referrers-artifact-type and --platform as a user runs them: the text and
// the json they print (valid against the published schema), what a dry run promises, and the
// refusals, with what landed read back by skopeo.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, inject, it } from 'vitest';
import { pushImage, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { startReferrersApi } from '../harness/referrers-api.js';
import { cli, expectExit, listTags, skopeoRaw } from '../import/helpers.js';
import { NOTATION_SIGNATURE, pushSignedImage, schemaTag } from './signed-image.js';

const open = inject('openRegistry');
const schemaFile = new URL('../../schema/import-result.schema.json', import.meta.url);
const matchesSchema = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);

/** The json a run printed, checked against the schema the package publishes. */
function resultOf(r: { stdout: string }) {
  const json = JSON.parse(r.stdout) as Record<string, unknown> & { referrers: { digest: string; subject: string; artifactType?: string; tag?: string }[] | null };
  expect(matchesSchema(json), JSON.stringify(matchesSchema.errors)).toBe(true);
  return json;
}

describe('--include-referrers on the command line', () => {
  it('copies the signed image with its referrers, lists them in text and json, and a dry run writes nothing', async () => {
    const api = await stopAfterAll(startReferrersApi({ upstream: open.url }));
    const repo = uniqueRepo('cli-ref/src');
    const targetRepo = uniqueRepo('cli-ref/dst');
    const signed = await pushSignedImage(api, repo);
    const source = `${api.host}/${repo}:v1`;

    const dry = await cli(['-n', open.host, '--source', source, '-t', `${targetRepo}:v1`, '--include-referrers', '--dry-run', '-o', 'json']);
    expectExit(dry, 0);
    expect(resultOf(dry).referrers).toHaveLength(5);
    expect(dry.stderr).toContain(`5 referrer(s): 3 ${NOTATION_SIGNATURE}, 1 application/spdx+json, 1 cosign tag`);
    expect(await listTags(open.url, targetRepo)).toEqual([]);

    const r = await cli(['-n', open.host, '--source', source, '-t', `${targetRepo}:v1`, '--include-referrers', '-o', 'json']);
    expectExit(r, 0);
    const json = resultOf(r);
    expect(json.referrers!.map((x) => [x.digest, x.subject]).sort()).toEqual(
      [
        [signed.indexSignature.digest, signed.image.digest],
        [signed.amd64Signature.digest, signed.amd64.digest],
        [signed.sbom.digest, signed.image.digest],
        [signed.sbomSignature.digest, signed.sbom.digest],
        [signed.cosign.digest, signed.image.digest],
      ].sort(),
    );
    expect(json.referrers!.find((x) => x.tag)).toMatchObject({ tag: signed.cosign.tag });
    expect(r.stderr).toMatch(/and 5 referrer\(s\)/);
    // Progress names each referrer and how the target lists it (this one has no referrers API).
    expect(r.stderr).toContain(`referrer ${signed.indexSignature.digest.slice(7, 19)} (${NOTATION_SIGNATURE}) of ${signed.image.digest.slice(7, 19)}: written and listed in the referrers tag`);
    expect(r.stderr).toContain(`referrer ${signed.cosign.digest.slice(7, 19)}`);
    expect((await listTags(open.url, targetRepo)).sort()).toEqual(['v1', signed.cosign.tag, schemaTag(signed.image.digest), schemaTag(signed.amd64.digest), schemaTag(signed.sbom.digest)].sort());
    for (const x of signed.referrers) expect((await skopeoRaw(`${open.host}/${targetRepo}@${x.digest}`)).equals(x.bytes)).toBe(true);

    const plain = await cli(['-n', open.host, '--source', source, '-t', `${uniqueRepo('cli-ref/plain')}:v1`, '-o', 'json']);
    expectExit(plain, 0);
    expect(resultOf(plain).referrers).toBeNull();
  });

  it('--referrers-artifact-type narrows; without --include-referrers it is a usage error', async () => {
    const repo = uniqueRepo('cli-ref/narrow-src');
    const signed = await pushSignedImage(open, repo, { tagSchema: true });
    const r = await cli(['-n', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${uniqueRepo('cli-ref/narrow-dst')}:v1`, '--include-referrers', '--referrers-artifact-type', NOTATION_SIGNATURE, '-o', 'json']);
    expectExit(r, 0);
    expect(resultOf(r).referrers!.map((x) => x.digest).sort()).toEqual([signed.indexSignature.digest, signed.amd64Signature.digest].sort());

    const alone = await cli(['-n', open.host, '--source', `${open.host}/${repo}:v1`, '--referrers-artifact-type', NOTATION_SIGNATURE]);
    expectExit(alone, 2);
    expect(alone.stderr).toMatch(/--referrers-artifact-type .*--include-referrers/);
  });
});

describe('--platform on the command line', () => {
  it('says the digest written is not the source’s and gives both, in text and json', async () => {
    const repo = uniqueRepo('cli-plat/src');
    const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 3 });
    const amd64 = image.children.find((c) => c.platform?.architecture === 'amd64')!;
    const targetRepo = uniqueRepo('cli-plat/dst');
    const r = await cli(['-n', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${targetRepo}:v1`, '--platform', 'linux/amd64', '-o', 'json']);
    expectExit(r, 0);
    expect(resultOf(r)).toMatchObject({ sourceDigest: image.digest, digest: amd64.digest, platforms: ['linux/amd64'] });
    expect(r.stderr).toContain(`(${image.digest}) as ${amd64.digest} (linux/amd64 only: not the source's digest)`);
    expect((await skopeoRaw(`${open.host}/${targetRepo}:v1`)).equals(amd64.bytes)).toBe(true);

    const two = await cli(['-n', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${targetRepo}:two`, '--platform', 'linux/arm/v7', '--platform', 'linux/arm64', '-o', 'json']);
    expectExit(two, 0);
    const json = resultOf(two);
    expect(json.platforms).toEqual(['linux/arm64/v8', 'linux/arm/v7']);
    expect((await skopeoRaw(`${open.host}/${targetRepo}:two`)).toString()).toContain(image.children[1]!.digest);
  });

  it('an unknown platform exits 2 listing those available, before anything is written', async () => {
    const repo = uniqueRepo('cli-plat/unknown');
    await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2 });
    const targetRepo = uniqueRepo('cli-plat/unknown-dst');
    const r = await cli(['-n', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${targetRepo}:v1`, '--platform', 'windows/amd64']);
    expectExit(r, 2);
    expect(r.stderr).toContain('has no windows/amd64 manifest');
    expect(r.stderr).toContain('Available platforms: linux/amd64, linux/arm64/v8.');
    expect(await listTags(open.url, targetRepo)).toEqual([]);

    const bad = await cli(['-n', open.host, '--source', `${open.host}/${repo}:v1`, '--platform', 'linux']);
    expectExit(bad, 2);
    expect(bad.stderr).toContain('is not os/arch[/variant]');
  });

  it.each([['--platform', 'linux/amd64'], ['--include-referrers']])('%s is refused with --server-side: ACR runs the import and takes no such choice', async (...flag) => {
    const r = await cli(['-n', 'myregistry', '--source', 'docker.io/library/hello-world:latest', '--server-side', ...flag]);
    expectExit(r, 2);
    expect(r.stderr).toContain('need the copy made here');
    expect(r.stderr).toContain('Leave out --server-side.');
  });
});
