// The retry design: --retries N bounds every request and a whole blob transfer has one budget
// (no retries nested in retries); every backoff ends at once on Ctrl-C (the AbortSignal); a proxy
// that refuses CONNECT is a network error naming the proxy.
import * as http from 'node:http';
import { randomBytes, createHash } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { faults, pushImage, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { listen } from '../harness/util.js';
import { AcrImportError } from '../../src/errors.js';
import { bufferSource, testTransport } from '../registry/helpers.js';
import { engineClient } from './helpers.js';
import { cli, expectExit, expectNoStack, listTags } from '../import/helpers.js';

const open = inject('openRegistry');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('one retry budget', () => {
  for (const retries of [0, 2]) {
    it(`sends an upload PUT that keeps failing ${retries + 1} times with --retries ${retries}, not once per nested loop`, async () => {
      const repo = uniqueRepo('budget');
      const image = await pushImage(open, repo, 'v1', { kind: 'image', layers: 1, layerSize: 4096 });
      // Only the layer's upload fails: the config (small too) goes up beside it and succeeds.
      const layer = image.layers[0]!.digest;
      const failing = (r: { kind: string; method: string; path: string }) => r.kind === 'upload' && r.method === 'PUT' && decodeURIComponent(r.path).includes(`digest=${layer}`);
      const target = await stopAfterAll(startProxy({ upstream: open.url, hook: (r) => (failing(r) ? faults.status(500) : undefined) }));
      const dest = uniqueRepo('budget-dst');
      const r = await cli(['--name', target.host, '--source', `${open.host}/${repo}:v1`, '-t', `${dest}:v1`, '--retries', String(retries), '--concurrency', '1']);
      expectExit(r, 7);
      // The layer's PUT: one attempt plus --retries, no more; every other PUT (the config's) once.
      const puts = target.requests.filter((q) => q.kind === 'upload' && q.method === 'PUT');
      expect(puts.filter(failing)).toHaveLength(retries + 1);
      expect(puts.filter((q) => !failing(q)).length).toBeLessThanOrEqual(1);
      expect(await listTags(open.url, dest)).toEqual([]);
    });
  }

  it('shares the budget between the download and the upload of a blob', async () => {
    const repo = uniqueRepo('budget-dl');
    const image = await pushImage(open, repo, 'v1', { kind: 'image', layers: 1, layerSize: 256 * 1024 });
    const layer = image.layers[0]!.digest;
    // Every GET of the layer is cut midway: each Range resume spends one retry of the transfer.
    const source = await stopAfterAll(startProxy({ upstream: open.url, hook: (r) => (r.kind === 'blob' && r.method === 'GET' && r.reference === layer ? faults.cut(1000) : undefined) }));
    const r = await cli(['--name', open.host, '--source', `${source.host}/${repo}:v1`, '-t', `${uniqueRepo('budget-dl-dst')}:v1`, '--retries', '3', '--concurrency', '1']);
    expect(r.code).not.toBe(0);
    expectNoStack(r.stderr);
    // --retries 3: the first GET and three resumes, whatever loop they happen in.
    expect(source.requests.filter((q) => q.kind === 'blob' && q.method === 'GET' && q.reference === layer)).toHaveLength(4);
  });
});

describe('backoff ends at once on Ctrl-C', () => {
  it('in the transport (a 503 asking to wait 30 s)', async () => {
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: () => faults.status(503, { retryAfter: 30 }) }));
    const transport = testTransport({ retry: { maxRetryAfterMs: 60_000 } });
    try {
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(new AcrImportError('interrupted', 'Interrupted by SIGINT.')), 300);
      const t0 = Date.now();
      const err = await transport.send({ method: 'GET', url: `${proxy.url}/v2/`, signal: ctl.signal }).catch((e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect((err as AcrImportError).kind).toBe('interrupted');
    } finally {
      await transport.close();
    }
  });

  it('between the chunks of an upload that resumes', async () => {
    const repo = uniqueRepo('abort-chunk');
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (r) => (r.kind === 'upload' && r.method === 'PATCH' ? faults.reset() : undefined) }));
    const { client } = engineClient(proxy.url, { kind: 'anonymous' }, { retry: { baseDelayMs: 20_000, maxDelayMs: 20_000 } });
    const bytes = randomBytes(300 * 1024);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new AcrImportError('interrupted', 'Interrupted by SIGINT.')), 300);
    const t0 = Date.now();
    const err = await client
      .uploadBlob(repo, { digest: sha(bytes), size: bytes.length }, bufferSource(bytes), { monolithicMax: 0, chunkedAbove: 0, chunkSize: 64 * 1024, signal: ctl.signal })
      .catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect((err as AcrImportError).kind).toBe('interrupted');
  });
});

describe('a proxy that refuses CONNECT', () => {
  for (const status of [407, 403]) {
    it(`is a network error (exit 8) naming the proxy, not "Interrupted." (HTTP ${status})`, async () => {
      const server = http.createServer((_q, r) => r.end());
      server.on('connect', (_req, socket) => socket.end(`HTTP/1.1 ${status} Refused\r\nProxy-Authenticate: Basic realm="corp"\r\n\r\n`));
      const l = await listen(server, 0);
      const saved = { HTTP_PROXY: process.env.HTTP_PROXY, HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
      const proxyUrl = `http://corp-user:proxy-secret@${l.host}`;
      Object.assign(process.env, { HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl });
      delete process.env.NO_PROXY;
      try {
        const r = await cli(['--name', open.host, '--source', `${open.host}/nothing:v1`, '-t', 'nothing:v1', '--retries', '1'], { env: { ...process.env, NO_COLOR: '1' } });
        expectExit(r, 8);
        expect(r.stderr).toContain(`proxy ${l.host} refused`);
        expect(r.stderr).toContain(`HTTP ${status}`);
        expect(r.stderr).not.toMatch(/Interrupted/);
        expect(r.stderr).not.toContain('proxy-secret');
        expectNoStack(r.stderr);
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
        await l.close();
      }
    });
  }
});
