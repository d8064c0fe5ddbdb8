// SIGINT and SIGTERM in the middle of a copy: the process stops cleanly (upload sessions
// cancelled, exit 130/143), no tag points at an incomplete image, and a re-run finishes the job
// sending only what is missing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { faults, pushImage, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { blobUploads, cleanEnv, cli, expectExit, listTags, skopeoCopyAll } from '../import/helpers.js';

const open = inject('openRegistry');
const BIN = new URL('../../bin/acr-import.js', import.meta.url).pathname;

/** Runs the CLI and sends `signal` once `ready()` holds (the copy is under way), polled every 50 ms. */
function runUntilSignal(args: string[], signal: NodeJS.Signals, ready: () => boolean): Promise<{ code: number | null; stderr: string }> {
  if (!existsSync(new URL('../../dist/cli/main.js', import.meta.url))) throw new Error('dist/ is missing: run `npm run build` first (npm test does it).');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv({ CI: '1' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    // Not a fixed delay: on a loaded machine the process may not have installed its handlers yet.
    const timer = setInterval(() => {
      if (!ready()) return;
      clearInterval(timer);
      child.kill(signal);
    }, 50);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code, stderr });
    });
  });
}

describe.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('%s mid-copy', (signal, exitCode) => {
  it(`exits ${exitCode}, cancels uploads, tags nothing, and a re-run sends only what is missing`, async () => {
    const repo = uniqueRepo('src');
    const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2, layersPerImage: 2, layerSize: 4 * 1024 * 1024 });
    const slow = image.blobs.filter((b) => b.size > 1024 * 1024).slice(0, 2).map((b) => b.digest);
    // The two slowest blobs hang long enough for the signal to land mid-copy.
    const source = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'blob' && q.method === 'GET' && slow.includes(q.reference!) ? faults.delay(10_000) : undefined) }));
    const target = await stopAfterAll(startProxy({ upstream: open.url }));
    const dest = uniqueRepo('dst');
    const args = ['--name', target.host, '--source', `${source.host}/${repo}:v1`, '-t', `${dest}:v1`];

    // Signalled once a hung download has started and some blob is already in the target.
    const hung = () => source.requests.some((q) => q.kind === 'blob' && q.method === 'GET' && slow.includes(q.reference!));
    const uploading = () => blobUploads(target.requests).some((q) => q.status === 201 || q.status === 202);
    let signalledAt = 0;
    const stopped = await runUntilSignal(args, signal, () => {
      const now = hung() && uploading();
      if (now) signalledAt = Date.now();
      return now;
    });
    expect(stopped.code).toBe(exitCode);
    expect(Date.now() - signalledAt).toBeLessThan(5000); // it did not wait for the hung downloads (10 s)
    expect(stopped.stderr).toMatch(new RegExp(`${signal} received`));
    expect(stopped.stderr).toMatch(/No tag was written/);
    expect(stopped.stderr).not.toMatch(/^\s+at /m);
    // Nothing tagged (a finished platform's manifest may be in, by digest); open uploads cancelled.
    expect(await listTags(open.url, dest)).toEqual([]);
    expect(target.requests.filter((q) => q.kind === 'manifest' && q.method === 'PUT' && !q.reference?.startsWith('sha256:'))).toEqual([]);
    const opened = target.requests.filter((q) => q.kind === 'upload' && q.method === 'POST' && q.status === 202).length;
    const cancelled = target.requests.filter((q) => q.kind === 'upload' && q.method === 'DELETE').length;
    expect(opened).toBeGreaterThan(0);
    expect(cancelled).toBeGreaterThanOrEqual(slow.length);
    const uploadedBefore = blobUploads(target.requests).filter((q) => q.status === 201 || q.status === 202).length;

    // The re-run (no more hanging) finishes and uploads only the blobs that were not in yet.
    source.setHook(undefined);
    target.clear();
    const rerun = await cli([...args, '-o', 'json']);
    expectExit(rerun, 0);
    const summary = rerun.json();
    expect(summary.blobs.skipped).toBeGreaterThan(0);
    expect(summary.blobs.copied).toBe(image.blobs.length - summary.blobs.skipped);
    expect(summary.blobs.copied).toBeGreaterThanOrEqual(slow.length);
    expect(uploadedBefore).toBeGreaterThan(0);
    expect((await skopeoCopyAll(`${open.host}/${dest}:v1`)).length).toBeGreaterThan(image.blobs.length);
  });
});
