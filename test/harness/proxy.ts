/**
 * A recording, fault-injecting reverse proxy to put in front of any registry,
 * plus a tiny "blob CDN" to test redirected blob downloads.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { forward, makeAgent, type Upstream } from './http-forward.js';
import { HarnessClient, header, pullScope, type RegistryTarget } from './client.js';
import type { TestCA } from './pki.js';
import { issueServerCert } from './pki.js';
import { listen, makeTempDir, removeTempDir, sleep } from './util.js';

export type Fault =
  /** Answer directly, e.g. 429 + Retry-After, 500, 503 with an HTML body. */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string | Buffer }
  /** Destroy the socket before answering (client sees ECONNRESET / "other side closed"). */
  | { kind: 'reset' }
  /** Forward, but destroy the connection after `afterBytes` bytes of the response body (sent chunked with `dropLength`). */
  | { kind: 'cut'; afterBytes: number; dropLength?: boolean }
  /** Wait, then go on with `then` (or forward normally). */
  | { kind: 'delay'; ms: number; then?: Fault }
  /** Answer with a redirect (default 307) to `location`. */
  | { kind: 'redirect'; location: string; status?: number }
  /**
   * Forward, then end the body cleanly (FIN, `Connection: close`) after `afterBytes` bytes, with
   * its Content-Length kept (the client sees a length mismatch) or removed (an early end).
   */
  | { kind: 'truncate'; afterBytes: number; keepLength: boolean }
  /** Forward, with response headers set (a string, or a function of the upstream's value) or removed (null). */
  | { kind: 'headers'; headers: Record<string, string | null | ((upstream: string | undefined) => string | null)> };

export type RequestKind = 'base' | 'manifest' | 'blob' | 'upload' | 'tags' | 'catalog' | 'referrers' | 'other';

export interface ProxyRequestInfo {
  /** 1-based sequence number of this request on the proxy. */
  seq: number;
  method: string;
  /** Path and query, as received. */
  path: string;
  headers: http.IncomingHttpHeaders;
  kind: RequestKind;
  /** Repository name for /v2/<repo>/... paths. */
  repo?: string;
  /** Tag/digest for manifests, digest for blobs. */
  reference?: string;
}

export type FaultHook = (req: ProxyRequestInfo) => Fault | undefined | Promise<Fault | undefined>;

export interface RecordedRequest extends ProxyRequestInfo {
  /** Selected request headers (authorization keeps its value: tests compare tokens). */
  requestHeaders: Record<string, string>;
  /** Final status sent (0 when the connection was reset before any answer). */
  status: number;
  /** Selected response headers. */
  responseHeaders: Record<string, string>;
  fault?: Fault['kind'];
  /** Response body bytes sent to the client. */
  bytesSent: number;
  aborted: boolean;
  startedAt: number;
  durationMs: number;
}

const REQ_HEADERS = ['accept', 'authorization', 'content-type', 'content-length', 'content-range', 'range', 'user-agent', 'transfer-encoding', 'if-none-match'];
const RES_HEADERS = ['location', 'content-type', 'content-length', 'content-range', 'docker-content-digest', 'www-authenticate', 'range', 'retry-after', 'docker-upload-uuid'];

/** Classifies a registry API path. */
export function classifyPath(pathWithQuery: string): { kind: RequestKind; repo?: string; reference?: string } {
  const path = pathWithQuery.split('?')[0] ?? '';
  if (path === '/v2/' || path === '/v2') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  let m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
  if (m) return { kind: 'manifest', repo: m[1], reference: decodeURIComponent(m[2]!) };
  m = /^\/v2\/(.+)\/blobs\/uploads\/?(.*)$/.exec(path);
  if (m) return { kind: 'upload', repo: m[1], reference: m[2] || undefined };
  m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path);
  if (m) return { kind: 'blob', repo: m[1], reference: decodeURIComponent(m[2]!) };
  m = /^\/v2\/(.+)\/tags\/list$/.exec(path);
  if (m) return { kind: 'tags', repo: m[1] };
  m = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(path);
  if (m) return { kind: 'referrers', repo: m[1], reference: decodeURIComponent(m[2]!) };
  return { kind: 'other' };
}

const pick = (h: http.IncomingHttpHeaders | http.OutgoingHttpHeaders, names: string[]) => {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = h[n];
    if (v !== undefined) out[n] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
};

/** Shorthands for common faults. */
export const faults = {
  status: (status: number, opts: { retryAfter?: number | string; headers?: Record<string, string>; body?: string } = {}): Fault => ({
    kind: 'respond',
    status,
    headers: {
      'content-type': 'application/json',
      ...(opts.retryAfter !== undefined ? { 'retry-after': String(opts.retryAfter) } : {}),
      ...opts.headers,
    },
    body: opts.body ?? JSON.stringify({ errors: [{ code: status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: `injected ${status}` }] }),
  }),
  /** A gateway-style HTML error page (what a load balancer answers). */
  html: (status: number): Fault => ({
    kind: 'respond',
    status,
    headers: { 'content-type': 'text/html' },
    body: `<html><head><title>${status}</title></head><body><h1>${status} injected by harness proxy</h1></body></html>`,
  }),
  reset: (): Fault => ({ kind: 'reset' }),
  cut: (afterBytes: number, dropLength = false): Fault => ({ kind: 'cut', afterBytes, dropLength }),
  delay: (ms: number, then?: Fault): Fault => ({ kind: 'delay', ms, then }),
  redirect: (location: string, status = 307): Fault => ({ kind: 'redirect', location, status }),
  truncate: (afterBytes: number, keepLength: boolean): Fault => ({ kind: 'truncate', afterBytes, keepLength }),
  headers: (headers: Extract<Fault, { kind: 'headers' }>['headers']): Fault => ({ kind: 'headers', headers }),
};

/**
 * Builds a hook that injects `fault` into the first `times` requests matching
 * `match`, then lets everything through. Handy for "fails twice then works".
 */
export function failFirst(times: number, match: (r: ProxyRequestInfo) => boolean, fault: Fault | ((r: ProxyRequestInfo) => Fault)): FaultHook & { count(): number } {
  let n = 0;
  const hook = ((r: ProxyRequestInfo) => {
    if (n < times && match(r)) {
      n++;
      return typeof fault === 'function' ? fault(r) : fault;
    }
    return undefined;
  }) as FaultHook & { count(): number };
  hook.count = () => n;
  return hook;
}

export interface StartProxyOptions {
  upstream: string | Upstream;
  hook?: FaultHook;
  /** Serve https with a cert from this CA (default plain http). */
  tls?: TestCA;
  port?: number;
}

export interface RunningProxy {
  url: string;
  host: string;
  port: number;
  /** Every request seen, in arrival order (entries are completed when the exchange ends). */
  readonly requests: RecordedRequest[];
  /** Requests other than GET/HEAD. */
  writeRequests(): RecordedRequest[];
  clear(): void;
  setHook(hook: FaultHook | undefined): void;
  stop(): Promise<void>;
}

export async function startProxy(opts: StartProxyOptions): Promise<RunningProxy> {
  const upstream: Upstream = typeof opts.upstream === 'string' ? { url: opts.upstream } : opts.upstream;
  upstream.url = upstream.url.replace(/\/+$/, '');
  const agent = makeAgent(upstream);
  let hook = opts.hook;
  const requests: RecordedRequest[] = [];
  let seq = 0;
  let publicOrigin = '';

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = req.url ?? '/';
    const info: ProxyRequestInfo = { seq: ++seq, method: req.method ?? 'GET', path, headers: req.headers, ...classifyPath(path) };
    const rec: RecordedRequest = {
      ...info,
      requestHeaders: pick(req.headers, REQ_HEADERS),
      status: 0,
      responseHeaders: {},
      bytesSent: 0,
      aborted: false,
      startedAt: Date.now(),
      durationMs: 0,
    };
    requests.push(rec);
    const finish = (status: number, bytes: number, aborted: boolean) => {
      rec.status = status;
      rec.bytesSent = bytes;
      rec.aborted = aborted;
      rec.durationMs = Date.now() - rec.startedAt;
    };

    const apply = async (fault: Fault | undefined): Promise<void> => {
      if (!fault) {
        forward(req, res, upstream, agent, {
          publicOrigin,
          onUpstreamResponse: (_s, h) => {
            rec.responseHeaders = pick(h, RES_HEADERS);
          },
          onDone: (d) => finish(d.status, d.bytesSent, d.aborted),
        });
        return;
      }
      rec.fault ??= fault.kind;
      switch (fault.kind) {
        case 'delay':
          await sleep(fault.ms);
          return apply(fault.then);
        case 'reset':
          // Drain nothing: the client may still be sending a body; it gets a reset.
          req.socket.destroy();
          finish(0, 0, true);
          return;
        case 'respond': {
          const body = fault.body === undefined ? Buffer.alloc(0) : Buffer.from(fault.body);
          const headers = { 'content-length': String(body.length), ...fault.headers };
          rec.responseHeaders = pick(headers, RES_HEADERS);
          req.resume(); // discard any request body
          res.writeHead(fault.status, headers);
          res.end(req.method === 'HEAD' ? undefined : body, () => finish(fault.status, body.length, false));
          return;
        }
        case 'redirect': {
          const status = fault.status ?? 307;
          rec.responseHeaders = { location: fault.location };
          req.resume();
          res.writeHead(status, { location: fault.location, 'content-length': '0' });
          res.end(() => finish(status, 0, false));
          return;
        }
        case 'cut':
        case 'truncate':
        case 'headers': {
          const truncate = fault.kind === 'truncate';
          // Without a length and without chunks, the body runs until the connection closes.
          if (truncate && !fault.keepLength) res.useChunkedEncodingByDefault = false;
          forward(req, res, upstream, agent, {
            publicOrigin,
            cutAfterBytes: fault.kind === 'headers' ? undefined : fault.afterBytes,
            onUpstreamResponse: (_s, h) => {
              if (truncate) {
                h.connection = 'close';
                if (!fault.keepLength) delete h['content-length'];
              }
              if (fault.kind === 'cut' && fault.dropLength) delete h['content-length'];
              if (fault.kind === 'headers') {
                for (const [k, edit] of Object.entries(fault.headers)) {
                  const name = k.toLowerCase();
                  const v = typeof edit === 'function' ? edit(h[name] === undefined ? undefined : String(h[name])) : edit;
                  if (v === null) delete h[name];
                  else h[name] = v;
                }
              }
              rec.responseHeaders = pick(h, RES_HEADERS);
            },
            onDone: (d) => finish(d.status, d.bytesSent, d.aborted),
          });
          return;
        }
      }
    };

    void (async () => {
      try {
        await apply(hook ? await hook(info) : undefined);
      } catch (err) {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`harness proxy hook failed: ${String(err)}`);
        }
        finish(500, 0, false);
      }
    })();
  };

  let dir: string | undefined;
  let server: http.Server;
  if (opts.tls) {
    dir = makeTempDir('proxy');
    const cert = await issueServerCert(opts.tls, dir, { name: 'proxy' });
    server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, handler) as unknown as http.Server;
  } else {
    server = http.createServer(handler);
  }
  const l = await listen(server, opts.port ?? 0);
  publicOrigin = `${opts.tls ? 'https' : 'http'}://${l.host}`;
  let stopped: Promise<void> | undefined;
  return {
    url: publicOrigin,
    host: l.host,
    port: l.port,
    requests,
    writeRequests: () => requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD'),
    clear: () => {
      requests.length = 0;
    },
    setHook: (h) => {
      hook = h;
    },
    stop: () => {
      stopped ??= (async () => {
        await l.close();
        agent.destroy();
        if (dir) removeTempDir(dir);
      })();
      return stopped;
    },
  };
}

// ---------------------------------------------------------------------------
// blob CDN
// ---------------------------------------------------------------------------

export interface CdnRequestRecord {
  time: number;
  method: string;
  path: string;
  /** Whether the client (wrongly) forwarded its registry Authorization to the CDN. */
  hadAuthorization: boolean;
  authorization?: string;
  range?: string;
  status: number;
}

export interface RunningBlobCdn {
  url: string;
  host: string;
  readonly requests: CdnRequestRecord[];
  clear(): void;
  /** Signed-looking URL at which the CDN serves `digest` of `repo`. */
  urlFor(repo: string, digest: string): string;
  /** A hook for startProxy that 307-redirects every blob GET to this CDN. */
  redirectBlobGets(): FaultHook;
  stop(): Promise<void>;
}

/**
 * Serves `GET|HEAD /blobs/<repo>/<digest>?sig=...` by fetching the blob from
 * the registry (with its own credentials) and streaming it back. Like S3 /
 * Azure Blob pre-signed URLs it needs no Authorization; with
 * `rejectAuthorization` it answers 400 when one is sent (as S3 does).
 */
export async function startBlobCdn(opts: { registry: RegistryTarget; rejectAuthorization?: boolean; port?: number }): Promise<RunningBlobCdn> {
  const client = new HarnessClient(opts.registry);
  const requests: CdnRequestRecord[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const rec: CdnRequestRecord = {
      time: Date.now(),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      hadAuthorization: req.headers.authorization !== undefined,
      authorization: req.headers.authorization,
      range: req.headers.range,
      status: 0,
    };
    requests.push(rec);
    const reply = (status: number, body: string) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    const m = /^\/blobs\/(.+)\/(sha256:[a-f0-9]{64})$/.exec(u.pathname);
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) return reply(404, '<Error><Code>NoSuchKey</Code></Error>');
    if (!u.searchParams.get('sig')) return reply(403, '<Error><Code>AccessDenied</Code></Error>');
    if (opts.rejectAuthorization && rec.hadAuthorization) {
      return reply(400, '<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
    }
    const repo = m[1]!;
    void (async () => {
      try {
        const up = await client.request(req.method!, `/v2/${repo}/blobs/${m[2]}`, {
          scopes: [pullScope(repo)],
          headers: req.headers.range ? { range: req.headers.range } : {},
        });
        const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
        for (const h of ['content-length', 'content-range', 'etag']) {
          const v = header(up.headers, h);
          if (v) headers[h] = v;
        }
        rec.status = up.status;
        res.writeHead(up.status, headers);
        for await (const chunk of up.body) {
          if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
        }
        res.end();
      } catch (err) {
        if (!res.headersSent) reply(502, `<Error>${String(err)}</Error>`);
        else res.destroy();
      }
    })();
  });
  const l = await listen(server, opts.port ?? 0);
  const url = `http://${l.host}`;
  const urlFor = (repo: string, digest: string) => `${url}/blobs/${repo}/${digest}?sig=harness-${Date.now()}&se=2099-01-01`;
  return {
    url,
    host: l.host,
    requests,
    clear: () => {
      requests.length = 0;
    },
    urlFor,
    redirectBlobGets: () => (r) =>
      r.kind === 'blob' && r.method === 'GET' && r.repo && r.reference ? faults.redirect(urlFor(r.repo, r.reference)) : undefined,
    stop: () => l.close(),
  };
}
