// What scripts read: one JSON object on stdout with a fixed set of fields, people's lines on stderr
// only; and the same from a real process started from the launcher in bin/.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pushImage, uniqueRepo, MediaTypes } from '../harness/index.js';
import { cleanEnv, cli, expectExit, expectNoStack, skopeoRaw } from './helpers.js';

const open = inject('openRegistry');
const token = inject('tokenRegistry');

const JSON_FIELDS = ['schemaVersion', 'ok', 'source', 'sourceDigest', 'digest', 'mediaType', 'platforms', 'referrers', 'target', 'targets', 'dryRun', 'upToDate', 'manifests', 'manifestCount', 'blobs', 'bytesCopied', 'totalBytes', 'durationMs', 'rateLimit', 'locked'].sort();

describe('-o json', () => {
  it('prints exactly one JSON object on stdout with the documented fields; people read stderr', async () => {
    const src = await pushImage(token, uniqueRepo('json/src'), 'v1', { kind: 'index', platforms: 2, layersPerImage: 2 });
    const dst = uniqueRepo('json/dst');
    const r = await cli(['-n', open.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '-o', 'json']);
    expectExit(r, 0);
    // One object, nothing before or after it.
    const parsed: unknown = JSON.parse(r.stdout);
    expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
    expect(r.stdout.trim().startsWith('{') && r.stdout.trim().endsWith('}')).toBe(true);
    const out = r.json();
    expect(Object.keys(out).sort()).toEqual(JSON_FIELDS);
    expect(out).toMatchObject({
      schemaVersion: 1,
      ok: true,
      source: `${token.host}/${src.repo}:v1`,
      sourceDigest: src.digest,
      mediaType: MediaTypes.ociIndex,
      target: open.host,
      targets: [{ reference: `${open.host}/${dst}:v1`, action: 'created' }],
      dryRun: false,
      // Counted one way: every manifest listed, the index included.
      manifestCount: 3,
      rateLimit: null,
      locked: null,
    });
    expect(Object.keys(out.blobs).sort()).toEqual(['copied', 'foreignSkipped', 'mounted', 'skipped', 'total']);
    expect(out.blobs).toEqual({ total: src.blobs.length, copied: src.blobs.length, mounted: 0, skipped: 0, foreignSkipped: 0 });
    const blobBytes = src.blobs.reduce((n, b) => n + b.size, 0);
    expect(out.totalBytes).toBe(blobBytes);
    expect(out.bytesCopied).toBe(blobBytes);
    expect(Number.isInteger(out.durationMs) && out.durationMs >= 0).toBe(true);
    // Every manifest, children first, the root last, with platforms for the images.
    expect(out.manifests).toEqual([
      ...src.children.map((c) => ({ digest: c.digest, mediaType: c.mediaType, platform: c.platform!.variant ? `${c.platform!.os}/${c.platform!.architecture}/${c.platform!.variant}` : `${c.platform!.os}/${c.platform!.architecture}` })),
      { digest: src.digest, mediaType: MediaTypes.ociIndex },
    ]);
    // The human summary is on stderr, not mixed into stdout.
    expect(r.stderr).toMatch(/Imported/);
    expect(r.stdout).not.toMatch(/Imported|Importing/);
  });

  it('text output writes nothing to stdout; --quiet with json writes nothing to stderr', async () => {
    const src = await pushImage(token, uniqueRepo('json/quiet-src'), 'v1', { kind: 'image' });
    const text = await cli(['-n', open.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${uniqueRepo('json/text')}:v1`]);
    expectExit(text, 0);
    expect(text.stdout).toBe('');
    expect(text.stderr).toContain(src.digest);
    const quiet = await cli(['-n', open.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${uniqueRepo('json/quiet')}:v1`, '-q', '-o', 'json']);
    expectExit(quiet, 0);
    expect(quiet.stderr).toBe('');
    expect(quiet.json().sourceDigest).toBe(src.digest);
  });

  it('a failure with -o json prints one error object on stdout (no half result for a script to misread)', async () => {
    const r = await cli(['-n', open.host, '--source', `${open.host}/${uniqueRepo('json/missing')}:v1`, '-o', 'json']);
    expectExit(r, 4);
    expect(JSON.parse(r.stdout)).toMatchObject({ schemaVersion: 1, ok: false, error: { exitCode: 4, kind: 'not-found' } });
    expect(r.stderr).toMatch(/^Error: /m);
  });
});

describe('a real process (bin/acr-import.js on a fresh build)', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  // A private build, so a build someone else runs at the same time cannot swap files under us.
  const build = join(root, 'test', 'import', '.build');
  const bin = join(build, 'bin', 'acr-import.js');

  beforeAll(async () => {
    rmSync(build, { recursive: true, force: true });
    // The bundle `npm run build` makes (what the npm package ships), built here from the current src.
    const script = pathToFileURL(join(root, 'scripts', 'build-bundle.mjs')).href;
    const { buildEsm } = (await import(script)) as { buildEsm(o: { outdir: string }): Promise<unknown> };
    await buildEsm({ outdir: join(build, 'dist', 'bundle') });
    // The launcher as shipped, in the same place relative to its bundle.
    mkdirSync(join(build, 'bin'), { recursive: true });
    copyFileSync(join(root, 'bin', 'acr-import.js'), bin);
  }, 60_000);
  afterAll(() => rmSync(build, { recursive: true, force: true }));

  const spawnCli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('exits 0 and prints the JSON summary; many parallel requests print no Node warning', async () => {
    const src = await pushImage(token, uniqueRepo('proc/src'), 'v1', { kind: 'index', platforms: 8, layersPerImage: 2 });
    const dst = uniqueRepo('proc/dst');
    const r = await spawnCli(['-n', open.host, '--source', `${token.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--concurrency', '16', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { sourceDigest: string; blobs: { total: number; copied: number } };
    expect(out.sourceDigest).toBe(src.digest);
    expect(out.blobs.copied).toBe(src.blobs.length);
    expect(r.stderr).not.toMatch(/Warning|MaxListeners/);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
  });

  it('exits with the error code, a message and no stack trace', async () => {
    const r = await spawnCli(['-n', open.host, '--source', `${open.host}/${uniqueRepo('proc/missing')}:v1`, '-o', 'json']);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { exitCode: 4, kind: 'not-found' } });
    expect(r.stderr).toMatch(/^Error: .*not found/m);
    expectNoStack(r.stderr);
    const usage = await spawnCli(['--source', 'x']);
    expect(usage.code).toBe(2);
  });
});
