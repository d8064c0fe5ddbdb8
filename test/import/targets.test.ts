// Where an import lands: az's target rules (-t, --repository, the default) and what the output
// says about it, checked in the registry.
import { describe, expect, inject, it } from 'vitest';
import { pushImage, uniqueRepo } from '../harness/index.js';
import { cli, expectExit, listTags, rawManifest, skopeoRaw } from './helpers.js';

const open = inject('openRegistry');
const token = inject('tokenRegistry');

describe('targets', () => {
  it('a digest source with no -t is tagged latest in the same repository, as az acr import does (ACR tags a repository without a tag "latest")', async () => {
    const repo = uniqueRepo('targets/bydigest');
    const src = await pushImage(token, repo, 'v1', { kind: 'index', platforms: 2 });
    const r = await cli(['-n', open.host, '--source', `${token.host}/${repo}@${src.digest}`, '-o', 'json']);
    expectExit(r, 0);
    const out = r.json();
    expect(out.source).toBe(`${token.host}/${repo}@${src.digest}`);
    expect(out.targets).toEqual([{ reference: `${open.host}/${repo}:latest`, action: 'created' }]);
    expect(await listTags(open.url, repo)).toEqual(['latest']);
    expect((await skopeoRaw(`${open.host}/${repo}:latest`)).equals(src.bytes)).toBe(true);
  });

  it('two -t write both tags, pointing at the same digest', async () => {
    const srcRepo = uniqueRepo('targets/two-src');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'image' });
    const a = uniqueRepo('targets/two-a');
    const b = uniqueRepo('targets/two-b');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${a}:1.0`, '-t', `${b}:stable`, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().targets.map((t) => [t.reference, t.action])).toEqual([
      [`${open.host}/${a}:1.0`, 'created'],
      [`${open.host}/${b}:stable`, 'created'],
    ]);
    expect((await skopeoRaw(`${open.host}/${a}:1.0`)).equals(src.bytes)).toBe(true);
    expect((await skopeoRaw(`${open.host}/${b}:stable`)).equals(src.bytes)).toBe(true);
    expect(await listTags(open.url, a)).toEqual(['1.0']);
    expect(await listTags(open.url, b)).toEqual(['stable']);
  });

  it('-t without a tag means :latest', async () => {
    const srcRepo = uniqueRepo('targets/latest-src');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'image' });
    const dst = uniqueRepo('targets/latest-dst');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', dst]);
    expectExit(r, 0);
    expect(await listTags(open.url, dst)).toEqual(['latest']);
    expect((await skopeoRaw(`${open.host}/${dst}:latest`)).equals(src.bytes)).toBe(true);
  });

  it('--repository copies untagged: no tag is created, the manifest is reachable by digest', async () => {
    const srcRepo = uniqueRepo('targets/untagged-src');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'index', platforms: 2 });
    const dst = uniqueRepo('targets/untagged-dst');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${srcRepo}:v1`, '--repository', dst, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().targets).toEqual([{ reference: `${open.host}/${dst}@${src.digest}`, action: 'created' }]);
    expect(await listTags(open.url, dst)).toEqual([]);
    expect((await rawManifest(open.url, dst, src.digest))?.equals(src.bytes)).toBe(true);
    for (const c of src.children) expect((await rawManifest(open.url, dst, c.digest))?.equals(c.bytes)).toBe(true);
  });

  it('-t and --repository together: the tag in one, untagged in the other', async () => {
    const srcRepo = uniqueRepo('targets/mixed-src');
    const src = await pushImage(token, srcRepo, 'v1', { kind: 'image' });
    const tagged = uniqueRepo('targets/mixed-tagged');
    const untagged = uniqueRepo('targets/mixed-untagged');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${srcRepo}:v1`, '-t', `${tagged}:x`, '--repository', untagged, '-o', 'json']);
    expectExit(r, 0);
    expect(await listTags(open.url, tagged)).toEqual(['x']);
    expect(await listTags(open.url, untagged)).toEqual([]);
    expect((await rawManifest(open.url, untagged, src.digest))?.equals(src.bytes)).toBe(true);
  });

  it('with no -t and no --repository the target is the source path as typed', async () => {
    const repo = `${uniqueRepo('targets/default')}/app`;
    const src = await pushImage(token, repo, '1.0', { kind: 'image' });
    const r = await cli(['-n', open.host, '--source', `${token.host}/${repo}:1.0`, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().targets).toEqual([{ reference: `${open.host}/${repo}:1.0`, action: 'created' }]);
    expect(await listTags(open.url, repo)).toEqual(['1.0']);
    expect((await skopeoRaw(`${open.host}/${repo}:1.0`)).equals(src.bytes)).toBe(true);
  });

  it('a source with neither tag nor digest resolves to :latest, and the output says so', async () => {
    const repo = uniqueRepo('targets/implicit-latest');
    const src = await pushImage(token, repo, 'latest', { kind: 'image' });
    const r = await cli(['-n', open.host, '--source', `${token.host}/${repo}`, '-o', 'json']);
    expectExit(r, 0);
    const out = r.json();
    expect(out.source).toBe(`${token.host}/${repo}:latest`);
    expect(out.targets).toEqual([{ reference: `${open.host}/${repo}:latest`, action: 'created' }]);
    // The human lines (stderr) say what was resolved, not only what was typed.
    expect(r.stderr).toContain(`${token.host}/${repo}:latest`);
    expect(r.stderr).toContain(src.digest);
    expect((await skopeoRaw(`${open.host}/${repo}:latest`)).equals(src.bytes)).toBe(true);
  });

  it('--registry with a repository-only --source', async () => {
    const repo = uniqueRepo('targets/registry-flag');
    const src = await pushImage(token, repo, 'v2', { kind: 'image' });
    const dst = uniqueRepo('targets/registry-flag-dst');
    const r = await cli(['-n', open.host, '-r', token.host, '--source', `${repo}:v2`, '-t', `${dst}:v2`, '-o', 'json']);
    expectExit(r, 0);
    expect(r.json().source).toBe(`${token.host}/${repo}:v2`);
    expect((await skopeoRaw(`${open.host}/${dst}:v2`)).equals(src.bytes)).toBe(true);
  });
});
