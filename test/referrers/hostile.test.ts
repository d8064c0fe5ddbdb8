// A referrers API that misbehaves, as a hostile or broken registry could: its next-page link points
// back at itself (a loop), or its pages never end and name more referrers than any image has.
// A real registry cannot be made to do this, so a small loopback server plays it.
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { clientFor } from '../registry/helpers.js';

const SUBJECT = `sha256:${'a'.repeat(64)}`;
const descriptor = (n: number) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${n.toString(16).padStart(64, '0')}`, size: 100, artifactType: 'application/vnd.cncf.notary.signature' });

function serve(page: (url: URL) => { manifests: unknown[]; next?: string }): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname + url.search);
    if (url.pathname === '/v2/') return res.writeHead(200).end('{}');
    const { manifests, next } = page(url);
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', ...(next ? { link: `<${next}>; rel="next"` } : {}) });
    res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests, server })));
}

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

describe('a hostile referrers API', () => {
  it('a next page that links back to itself ends the walk: each page read once, each referrer listed once', async () => {
    const path = `/v2/app/referrers/${SUBJECT}`;
    const api = await serve(() => ({ manifests: [descriptor(1), descriptor(2)], next: path }));
    servers.push(api.server);
    const { client, transport } = clientFor(api.url);
    try {
      const listed = await client.listReferrers('app', SUBJECT);
      expect(listed!.map((d) => d.digest)).toEqual([descriptor(1).digest, descriptor(2).digest]);
      expect(api.requests.filter((r) => r.startsWith('/v2/app/referrers/'))).toHaveLength(1);
    } finally {
      await transport.close();
    }
  });

  it('pages that never end are refused once they name more than 10,000 referrers, with a hint', async () => {
    const api = await serve((url) => {
      const n = Number(url.searchParams.get('page') ?? 0);
      return { manifests: Array.from({ length: 2000 }, (_, i) => descriptor(n * 2000 + i + 1)), next: `/v2/app/referrers/${SUBJECT}?page=${n + 1}` };
    });
    servers.push(api.server);
    const { client, transport } = clientFor(api.url);
    try {
      const err = await client.listReferrers('app', SUBJECT).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'limit', message: expect.stringContaining('more than 10000 referrers') as unknown, hint: expect.stringContaining('--referrers-artifact-type') as unknown });
      // It stopped reading right after the page that went past the limit.
      expect(api.requests.filter((r) => r.startsWith('/v2/app/referrers/'))).toHaveLength(6);
    } finally {
      await transport.close();
    }
  });
});
