// `acr-import sync` against real registries: a set of images in one run, checked with skopeo;
// a shared base layer crossing the wire once; a re-run that only HEADs; failures that leave the
// others running; pull limits; shards; the json record per entry against the published schema.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pushImage, startProxy, uniqueRepo, type ImageSpec, type PushResult, type RunningProxy } from '../harness/index.js';
import { cleanEnv, cli, expectExit, expectNoStack, skopeoExists, skopeoRaw, type CliResult } from '../import/helpers.js';
import { EXIT_CODES } from '../../src/errors.js';
import { pushSignedImage, schemaTag } from '../referrers/signed-image.js';

const open = inject('openRegistry');
const target = inject('htpasswdRegistry');
const auth = { username: target.username, password: target.password };
const root = new URL('../../', import.meta.url);
const schemaFile = (name: string) => JSON.parse(readFileSync(new URL(`schema/${name}`, root), 'utf8')) as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, strict: true, validateFormats: false });
ajv.addSchema(schemaFile('import-result.schema.json'));
const validate = ajv.compile(schemaFile('sync-result.schema.json'));
const work = mkdtempSync(join(tmpdir(), 'acr-import-sync-'));

interface EntryJson {
  index: number;
  status: string;
  repository: string;
  tags: { tag: string; status: string; digest?: string; bytes: number; blobs: { copied: number; mounted: number; skipped: number }; error?: { kind: string; message: string }; retryAfter?: string }[];
  counts: Record<string, number>;
  error?: { kind: string; message: string };
}
interface SyncJson {
  ok: boolean;
  entries: EntryJson[];
  totals: { entries: number; succeeded: number; failed: number; skipped: number; tags: Record<string, number>; bytes: number };
  pullLimits: { host: string; limit: number | null; remaining: number; resetBy: string | null }[];
}

function syncJson(r: CliResult): SyncJson {
  const value = JSON.parse(r.stdout) as SyncJson;
  if (!validate(value)) throw new Error(`does not match schema/sync-result.schema.json:\n${JSON.stringify(validate.errors, null, 2)}\n${r.stdout}`);
  return value;
}

function syncFile(text: string): string {
  const file = join(work, `${uniqueRepo('f').replace(/\W/g, '-')}.yaml`);
  writeFileSync(file, text);
  return file;
}

const env = (extra: NodeJS.ProcessEnv = {}) => cleanEnv({ ACR_IMPORT_TARGET_USERNAME: target.username, ACR_IMPORT_TARGET_PASSWORD: target.password, ...extra });
const sync = (args: string[], extra?: NodeJS.ProcessEnv) => cli(['sync', ...args], { env: env(extra) });

/** An image whose first layer is the shared base. */
const withBase = (base: string, own: string): ImageSpec => ({ kind: 'image', layers: [{ seed: base, size: 64 * 1024 }, { seed: own, size: 2048 }] });

describe('acr-import sync', () => {
  const base = uniqueRepo('base');
  const repos = { app: uniqueRepo('sync/app'), tool: uniqueRepo('sync/tool'), web: uniqueRepo('sync/web') };
  const pushed = new Map<string, PushResult>();
  let sourceProxy: RunningProxy;
  let targetProxy: RunningProxy;

  beforeAll(async () => {
    for (const tag of ['1.0', '1.1', '2.0', 'latest', '1.1-alpine']) pushed.set(`${repos.app}:${tag}`, await pushImage(open, repos.app, tag, withBase(base, `app-${tag}`)));
    for (const tag of ['v3.19.0', 'v3.20.1', 'v3.21.0', 'edge']) pushed.set(`${repos.tool}:${tag}`, await pushImage(open, repos.tool, tag, withBase(base, `tool-${tag}`)));
    pushed.set(`${repos.web}:1`, await pushImage(open, repos.web, '1', { kind: 'index', platforms: 2 }));
    sourceProxy = await startProxy({ upstream: open.url });
    targetProxy = await startProxy({ upstream: target.url });
  });
  afterAll(async () => {
    await sourceProxy.stop();
    await targetProxy.stop();
  });

  const mirror = uniqueRepo('mirror');
  const file = () =>
    syncFile(`target: ${targetProxy.host}
images:
  - source: ${sourceProxy.host}/${repos.app}
    tags: {semver: ">=1.0 <2"}
    repository: ${mirror}/app
  - source: ${sourceProxy.host}/${repos.tool}
    tags: {regex: "^v3\\\\.2"}
    repository: ${mirror}/tool
  - source: ${sourceProxy.host}/${repos.web}:1
    repository: ${mirror}/web
  - source: ${sourceProxy.host}/${repos.app}
    tags: [latest]
    repository: ${mirror}/app-latest
`);

  it('mirrors a set in one run: tags by range, regex and list, bytes intact, a shared base layer uploaded once and mounted elsewhere', async () => {
    const f = file();
    const r = await sync([f, '-o', 'json']);
    expectExit(r, 0);
    const out = syncJson(r);
    expect(out.ok).toBe(true);
    expect(out.entries.map((e) => e.tags.map((t) => t.tag))).toEqual([['1.0', '1.1'], ['v3.20.1', 'v3.21.0'], ['1'], ['latest']]);
    expect(out.entries.every((e) => e.status === 'succeeded' && e.tags.every((t) => t.status === 'copied'))).toBe(true);
    const expected: [string, string][] = [
      [`${mirror}/app:1.0`, `${repos.app}:1.0`],
      [`${mirror}/app:1.1`, `${repos.app}:1.1`],
      [`${mirror}/tool:v3.20.1`, `${repos.tool}:v3.20.1`],
      [`${mirror}/tool:v3.21.0`, `${repos.tool}:v3.21.0`],
      [`${mirror}/web:1`, `${repos.web}:1`],
      [`${mirror}/app-latest:latest`, `${repos.app}:latest`],
    ];
    for (const [to, from] of expected) expect((await skopeoRaw(`${target.host}/${to}`, auth)).equals(pushed.get(from)!.bytes), to).toBe(true);
    // Tags the selection left out are not there.
    expect(await skopeoExists(`${target.host}/${mirror}/app:2.0`, auth)).toBe(false);
    expect(await skopeoExists(`${target.host}/${mirror}/tool:v3.19.0`, auth)).toBe(false);

    // The base layer went up once; the other repositories mounted it.
    const baseDigest = pushed.get(`${repos.app}:1.0`)!.blobs.find((b) => b.size > 60 * 1024)!.digest;
    const uploadsOfBase = targetProxy.requests.filter((q) => q.method === 'PUT' && q.path.includes(`digest=${encodeURIComponent(baseDigest)}`) && q.status === 201);
    expect(uploadsOfBase).toHaveLength(1);
    const mounts = targetProxy.requests.filter((q) => q.method === 'POST' && q.path.includes(`mount=${encodeURIComponent(baseDigest)}`) && q.status === 201);
    expect(new Set(mounts.map((m) => m.path.split('/blobs/')[0])).size).toBe(2);
    const blobTotals = out.entries.flatMap((e) => e.tags).reduce((n, t) => ({ copied: n.copied + t.blobs.copied, mounted: n.mounted + t.blobs.mounted }), { copied: 0, mounted: 0 });
    expect(blobTotals.mounted).toBe(2);
    // The summary table on stderr.
    expect(r.stderr).toMatch(/#\s+entry\s+tags\s+copied\s+up to date\s+failed\s+skipped\s+bytes\s+time/);
    expect(r.stderr).toMatch(/Synced 4 entries: 4 succeeded, 0 failed, 0 skipped; tags: 6 copied/);
  });

  it('a re-run with nothing changed sends HEADs (and a tag listing for a range or regex) only', async () => {
    sourceProxy.clear();
    targetProxy.clear();
    const r = await sync([file(), '-o', 'json']);
    expectExit(r, 0);
    const out = syncJson(r);
    expect(out.totals.tags).toMatchObject({ upToDate: 6, copied: 0 });
    const requests = [...sourceProxy.requests, ...targetProxy.requests];
    const notHead = requests.filter((q) => q.method !== 'HEAD');
    // GETs: the /v2/ probe and the two tag listings (range, regex); no manifest, no blob, no write.
    expect(notHead.filter((q) => !(q.method === 'GET' && (q.path === '/v2/' || q.path.includes('/tags/list'))))).toEqual([]);
    expect(notHead.filter((q) => q.path.includes('/tags/list'))).toHaveLength(2);
    // One HEAD of each image on each side, besides the target's Basic challenges (401).
    expect(requests.filter((q) => q.method === 'HEAD' && q.path.includes('/manifests/') && q.status !== 401).length).toBe(12);
  });

  it('--dry-run plans every image and writes nothing', async () => {
    const dry = uniqueRepo('dry');
    const f = syncFile(`target: ${target.host}\nimages:\n  - source: ${open.host}/${repos.app}\n    tags: all\n    repository: ${dry}\n`);
    targetProxy.clear();
    const r = await sync([f, '--dry-run', '-o', 'json']);
    expectExit(r, 0);
    const out = syncJson(r);
    expect(out.entries[0]!.tags.map((t) => t.status)).toEqual(Array(5).fill('would-copy'));
    expect(out.entries[0]!.tags.map((t) => t.tag).sort()).toEqual(['1.0', '1.1', '1.1-alpine', '2.0', 'latest']);
    expect(out.entries[0]!.tags.every((t) => t.digest === pushed.get(`${repos.app}:${t.tag}`)!.digest && t.bytes > 0)).toBe(true);
    for (const t of ['1.0', 'latest']) expect(await skopeoExists(`${target.host}/${dry}:${t}`, auth)).toBe(false);
    expect(r.stderr).toMatch(/would copy/);
  });

  it('a failing entry does not stop the others: exit 10, its record says why; --fail-fast stops at the first', async () => {
    const out1 = uniqueRepo('partial');
    const text = `target: ${target.host}\nimages:\n  - source: ${open.host}/${uniqueRepo('missing')}:1\n  - source: ${open.host}/${repos.app}:2.0\n    repository: ${out1}\n`;
    const r = await sync([syncFile(text), '-o', 'json', '--parallel', '1']);
    expectExit(r, EXIT_CODES.partial);
    expectNoStack(r.stderr);
    const out = syncJson(r);
    expect(out.ok).toBe(false);
    expect(out.entries.map((e) => e.status)).toEqual(['failed', 'succeeded']);
    expect(out.entries[0]!.tags[0]!.error).toMatchObject({ kind: 'not-found' });
    expect((await skopeoRaw(`${target.host}/${out1}:2.0`, auth)).equals(pushed.get(`${repos.app}:2.0`)!.bytes)).toBe(true);
    expect(r.stderr).toMatch(/Error: 1 of 2 entries failed; the others were synced\./);

    const out2 = uniqueRepo('failfast');
    const ff = await sync([syncFile(text.replace(out1, out2)), '-o', 'json', '--parallel', '1', '--fail-fast']);
    expectExit(ff, EXIT_CODES.partial);
    const j = syncJson(ff);
    expect(j.entries.map((e) => e.status)).toEqual(['failed', 'skipped']);
    expect(j.entries[1]!.tags[0]!.error?.message ?? j.entries[1]!.error?.message).toMatch(/--fail-fast/);
    expect(await skopeoExists(`${target.host}/${out2}:2.0`, auth)).toBe(false);
  });

  it('stops fetching before a pull limit is spent, and says which entries wait for the reset', async () => {
    let remaining = 3;
    const limited = await startProxy({
      upstream: open.url,
      // Docker Hub's headers; a manifest GET costs one pull.
      hook: (q) => {
        if (q.method === 'GET' && q.path.includes('/manifests/')) remaining--;
        if (remaining < 0) return { kind: 'respond', status: 429, body: 'pull rate limit' };
        return { kind: 'headers', headers: { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': `${remaining};w=21600` } };
      },
    });
    try {
      const dst = uniqueRepo('limited');
      const entries = ['1.0', '1.1', '2.0', 'latest', '1.1-alpine'].map((t) => `  - source: ${limited.host}/${repos.app}:${t}\n    repository: ${dst}\n`).join('');
      const r = await sync([syncFile(`target: ${target.host}\nimages:\n${entries}`), '-o', 'json', '--parallel', '1', '--rate-limit-reserve', '1']);
      expectExit(r, EXIT_CODES.partial);
      const out = syncJson(r);
      // 3 left, 1 kept in reserve: two single-manifest images, then nothing more.
      expect(out.entries.map((e) => e.status)).toEqual(['succeeded', 'succeeded', 'skipped', 'skipped', 'skipped']);
      expect(limited.requests.filter((q) => q.status === 429)).toEqual([]);
      const skipped = out.entries[2]!.tags[0]!;
      expect(skipped.error?.message).toMatch(/has 1 pull\(s\) left of 100; not fetching more before/);
      expect(Date.parse(skipped.retryAfter!) - Date.now()).toBeGreaterThan(21_000_000);
      expect(out.pullLimits).toEqual([{ host: limited.host, limit: 100, remaining: 1, resetBy: expect.any(String) }]);
      expect(r.stderr).toMatch(/Pull limit of .*: 1 of 100 left; back by/);
      expect(await skopeoExists(`${target.host}/${dst}:2.0`, auth)).toBe(false);
    } finally {
      await limited.stop();
    }
  });

  it('--shard I/N: the shards split the entries, disjoint and complete', async () => {
    const dst = uniqueRepo('shard');
    const lines = ['1.0', '1.1', '2.0', 'latest', '1.1-alpine'].map((t) => `  - source: ${open.host}/${repos.app}:${t}\n    repository: ${dst}/${t.replace('.', '-')}\n`).join('');
    const f = syncFile(`target: ${target.host}\nimages:\n${lines}`);
    const runs = await Promise.all([1, 2].map((i) => sync([f, '--shard', `${i}/2`, '--dry-run', '-o', 'json'])));
    const indexes = runs.map((r) => (expectExit(r, 0), syncJson(r).entries.map((e) => e.index)));
    expect([...indexes[0]!, ...indexes[1]!].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(indexes[0]!.filter((i) => indexes[1]!.includes(i))).toEqual([]);
  });

  it('reads the file from stdin, and refuses a bad file with exit 2 naming file, line and field before any request', async () => {
    const dst = uniqueRepo('stdin');
    const r = await cli(['sync', '-'], { env: env(), stdin: `{"target": "${target.host}", "images": [{"source": "${open.host}/${repos.app}:1.0", "repository": "${dst}"}]}` });
    expectExit(r, 0);
    expect(await skopeoExists(`${target.host}/${dst}:1.0`, auth)).toBe(true);

    targetProxy.clear();
    const bad = await sync([syncFile(`target: ${targetProxy.host}\nimages:\n  - source: ${open.host}/${repos.app}\n    tags: {semver: "one"}\n`), '-o', 'json']);
    expectExit(bad, EXIT_CODES.usage);
    expect(bad.stderr).toMatch(/\.yaml:4: images\[0\]\.tags\.semver: 'one' is not a semver range/);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: { kind: 'usage', exitCode: 2 } });
    expect(targetProxy.requests).toEqual([]);
  });

  it('import --all-tags: every tag of a repository, a sync of one entry', async () => {
    const dst = uniqueRepo('alltags');
    const r = await cli(['import', '-n', target.host, '--source', `${open.host}/${repos.tool}`, '--all-tags', '-t', dst, '-o', 'json'], { env: env() });
    expectExit(r, 0);
    const out = syncJson(r);
    expect(out.entries[0]!.tags.map((t) => t.tag)).toEqual(['edge', 'v3.19.0', 'v3.20.1', 'v3.21.0']);
    for (const tag of ['edge', 'v3.19.0', 'v3.20.1', 'v3.21.0']) expect((await skopeoRaw(`${target.host}/${dst}:${tag}`, auth)).equals(pushed.get(`${repos.tool}:${tag}`)!.bytes), tag).toBe(true);
    const tagged = await cli(['-n', target.host, '--source', `${open.host}/${repos.tool}:edge`, '--all-tags'], { env: env() });
    expectExit(tagged, EXIT_CODES.usage);
    expect(tagged.stderr).toMatch(/--all-tags copies every tag of a repository; --source .* names a tag/);
    const withTag = await cli(['-n', target.host, '--source', `${open.host}/${repos.tool}`, '--all-tags', '-t', 'x:1'], { env: env() });
    expectExit(withTag, EXIT_CODES.usage);
  });

  it('an entry\'s platforms: the chosen platform\'s manifest alone under the tag, as import --platform writes it', async () => {
    const dst = uniqueRepo('platforms');
    const web = pushed.get(`${repos.web}:1`)!;
    const arm64 = web.children.find((c) => c.platform?.architecture === 'arm64')!;
    const f = syncFile(`target: ${target.host}\nimages:\n  - source: ${open.host}/${repos.web}:1\n    repository: ${dst}\n    platforms: [linux/arm64]\n`);
    const r = await sync([f, '-o', 'json']);
    expectExit(r, 0);
    expect(syncJson(r).entries[0]!.tags[0]).toMatchObject({ status: 'copied', digest: arm64.digest });
    expect((await skopeoRaw(`${target.host}/${dst}:1`, auth)).equals(arm64.bytes)).toBe(true);
    const again = await sync([f, '-o', 'json']);
    expect(syncJson(again).entries[0]!.tags[0]!.status).toBe('up-to-date');
  });

  it('an entry\'s referrers: signatures, the SBOM and the cosign tag go with the image, found in the target as import --include-referrers writes them', async () => {
    const srcRepo = uniqueRepo('signed');
    const dst = uniqueRepo('signed-mirror');
    // The source has no referrers API (plain Distribution): the referrers are found through the tag schema.
    const signed = await pushSignedImage(open, srcRepo, { tagSchema: true });
    const f = syncFile(`target: ${target.host}\nimages:\n  - source: ${open.host}/${srcRepo}:v1\n    repository: ${dst}\n    referrers: true\n`);
    const r = await sync([f, '-o', 'json']);
    expectExit(r, 0);
    expect(syncJson(r).entries[0]!.tags[0]).toMatchObject({ status: 'copied', digest: signed.image.digest });
    expect((await skopeoRaw(`${target.host}/${dst}:v1`, auth)).equals(signed.image.bytes)).toBe(true);
    // The target has no API either: its tag-schema index for the image lists the index's signature and the SBOM.
    const listed = JSON.parse((await skopeoRaw(`${target.host}/${dst}:${schemaTag(signed.image.digest)}`, auth)).toString()) as { manifests: { digest: string }[] };
    expect(listed.manifests.map((d) => d.digest).sort()).toEqual([signed.indexSignature.digest, signed.sbom.digest].sort());
    for (const referrer of [signed.indexSignature, signed.sbom, signed.sbomSignature, signed.amd64Signature]) {
      expect((await skopeoRaw(`${target.host}/${dst}@${referrer.digest}`, auth)).equals(referrer.bytes)).toBe(true);
    }
    expect((await skopeoRaw(`${target.host}/${dst}:${signed.cosign.tag}`, auth)).equals(signed.cosign.bytes)).toBe(true);
    const again = await sync([f, '-o', 'json']);
    expectExit(again, 0);
    expect(syncJson(again).entries[0]!.tags[0]!.status).toBe('up-to-date');
  });
});
