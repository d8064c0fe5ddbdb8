/**
 * Stands in for the external host of foreign / non-distributable layers (the
 * `urls` of a Windows base layer). The bytes are regenerated from the URL
 * (seed/size/compression), so any process can describe a foreign layer without
 * talking to the server first: fixtures in a test worker use the URL of the
 * server started by global setup.
 *
 *   GET|HEAD /layers/<seed>/<size>/<gzip|none>/<digest>   (Range supported)
 *   GET /flood/<bytes>[?announce]   hostile: that many zero bytes whatever a descriptor declared,
 *                                   streamed as the client reads (Content-Length only with ?announce)
 *   GET /redirect?to=<url>          302 to any URL (a private address, plain http, ...)
 *   GET /_requests   JSON log;   DELETE /_requests  clears it
 */
import * as http from 'node:http';
import { request } from 'undici';
import { makeLayer, type Compression, type LayerContent } from './blobgen.js';
import { listen, sendJson } from './util.js';

export interface ForeignRequestRecord {
  time: number;
  method: string;
  path: string;
  range?: string;
  /** Foreign layer hosts must not get registry credentials; tests assert on this. */
  hadAuthorization: boolean;
  status: number;
  /** Body bytes written before the response ended or the client went away (/flood). */
  bytesSent?: number;
}

export interface RunningForeignLayerServer {
  url: string;
  host: string;
  readonly requests: ForeignRequestRecord[];
  clear(): void;
  stop(): Promise<void>;
}

const MAX_FOREIGN_SIZE = 256 * 1024 * 1024;

export function foreignLayerUrl(serverUrl: string, seed: string, size: number, compression: Compression, digest: string): string {
  return `${serverUrl.replace(/\/+$/, '')}/layers/${encodeURIComponent(seed)}/${size}/${compression}/${digest}`;
}

/** Reads the request log of a (possibly out-of-process) foreign layer server. */
export async function fetchForeignRequests(serverUrl: string): Promise<ForeignRequestRecord[]> {
  const res = await request(`${serverUrl.replace(/\/+$/, '')}/_requests`);
  return (await res.body.json()) as ForeignRequestRecord[];
}

export async function startForeignLayerServer(opts: { port?: number } = {}): Promise<RunningForeignLayerServer> {
  const requests: ForeignRequestRecord[] = [];
  const cache = new Map<string, LayerContent>();

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/_requests') {
      if (req.method === 'DELETE') requests.length = 0;
      sendJson(res, 200, req.method === 'DELETE' ? [] : requests);
      return;
    }
    const rec: ForeignRequestRecord = {
      time: Date.now(),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      range: req.headers.range,
      hadAuthorization: req.headers.authorization !== undefined,
      status: 0,
    };
    requests.push(rec);
    const fail = (status: number, msg: string) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(msg);
    };
    const flood = /^\/flood\/(\d+)$/.exec(u.pathname);
    if (flood && req.method === 'GET') return sendFlood(res, rec, Number(flood[1]), u.searchParams.has('announce'));
    if (u.pathname === '/redirect' && u.searchParams.get('to')) {
      rec.status = 302;
      res.writeHead(302, { location: u.searchParams.get('to')! });
      res.end();
      return;
    }
    const m = /^\/layers\/([^/]+)\/(\d+)\/(gzip|none)\/([^/]+)$/.exec(u.pathname);
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) return fail(404, 'not found');
    const seed = decodeURIComponent(m[1]!);
    const size = Number(m[2]);
    if (size > MAX_FOREIGN_SIZE) return fail(400, 'too large');
    const key = `${seed}/${size}/${m[3]}`;
    let layer = cache.get(key);
    if (!layer) {
      layer = makeLayer(seed, size, m[3] as Compression);
      cache.set(key, layer);
    }
    if (layer.digest !== m[4]) return fail(404, `digest mismatch: have ${layer.digest}`);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag: `"${layer.digest}"`,
    };
    let body = layer.bytes;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      if (start >= body.length || start > end) {
        rec.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
      body = body.subarray(start, end + 1);
      status = 206;
    }
    headers['content-length'] = String(body.length);
    rec.status = status;
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const l = await listen(server, opts.port ?? 0);
  return {
    url: `http://${l.host}`,
    host: l.host,
    requests,
    clear: () => {
      requests.length = 0;
    },
    stop: () => l.close(),
  };
}

/** Writes `total` zero bytes in 64 KiB chunks, only as fast as the client reads, counting what left. */
function sendFlood(res: http.ServerResponse, rec: ForeignRequestRecord, total: number, announce: boolean): void {
  rec.status = 200;
  rec.bytesSent = 0;
  res.writeHead(200, { 'content-type': 'application/octet-stream', ...(announce ? { 'content-length': String(total) } : {}) });
  const chunk = Buffer.alloc(64 * 1024);
  const pump = () => {
    while (rec.bytesSent! < total && !res.destroyed) {
      const n = Math.min(chunk.length, total - rec.bytesSent!);
      rec.bytesSent! += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  res.on('close', () => res.off('drain', pump));
  pump();
}
