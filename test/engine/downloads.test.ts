// Downloads against a real registry behind a fault-injecting proxy: every way a body can break
// (a reset before the first byte, mid-body, after the last byte; a clean close cut short with a
// Content-Length or without one) resumes with Range from the bytes counted here.
import { createHash } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { faults, failFirst, pushImage, startProxy, stopAfterAll, uniqueRepo, type Fault } from '../harness/index.js';
import { readAll } from '../registry/helpers.js';
import { engineClient } from './helpers.js';
import { cli, expectExit, skopeoCopyAll } from '../import/helpers.js';

const open = inject('openRegistry');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const SIZE = 700 * 1024;

describe('downloads survive a broken body', () => {
  const half = 300 * 1024;
  const cases: [string, (size: number) => Fault, string[]][] = [
    ['a reset before the first byte', () => faults.reset(), ['', '']],
    ['a reset mid-body', () => faults.cut(half), ['', `bytes=${half}-`]],
    ['a reset after the last byte (chunked, no terminator)', (size) => faults.cut(size, true), ['']],
    ['a clean close cut short with a Content-Length', () => faults.truncate(half, true), ['', `bytes=${half}-`]],
    ['a clean close cut short without a Content-Length', () => faults.truncate(half, false), ['', `bytes=${half}-`]],
  ];
  for (const [name, fault, ranges] of cases) {
    it(`resumes after ${name}`, async () => {
      const repo = uniqueRepo('dl');
      const image = await pushImage(open, repo, 'v1', { kind: 'image', layerSize: SIZE });
      const layer = image.layers[0]!;
      const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: failFirst(1, (r) => r.kind === 'blob' && r.method === 'GET', fault(layer.size)) }));
      const { client } = engineClient(proxy.url);
      const bytes = await readAll(client.getBlob(repo, { digest: layer.digest, size: layer.size }));
      expect(bytes.length).toBe(layer.size);
      expect(sha(bytes)).toBe(layer.digest);
      expect(proxy.requests.filter((q) => q.kind === 'blob').map((q) => q.requestHeaders.range ?? '')).toEqual(ranges);
    });
  }

  it('imports with the CLI through a proxy that truncates the first body of every blob', async () => {
    const repo = uniqueRepo('dl-cli');
    const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 2, layersPerImage: 2, layerSize: 300 * 1024 });
    const cut = new Set<string>();
    const source = await stopAfterAll(
      startProxy({
        upstream: open.url,
        hook: (r) => {
          if (r.kind !== 'blob' || r.method !== 'GET' || cut.has(r.reference!)) return undefined;
          cut.add(r.reference!);
          return faults.truncate(100, cut.size % 2 === 0);
        },
      }),
    );
    const dest = uniqueRepo('dl-dst');
    const r = await cli(['--name', open.host, '--source', `${source.host}/${repo}:v1`, '-t', `${dest}:v1`]);
    expectExit(r, 0);
    expect(cut.size).toBe(image.blobs.filter((b) => b.pushed).length);
    expect((await skopeoCopyAll(`${open.host}/${dest}:v1`)).length).toBeGreaterThan(3);
  });
});
