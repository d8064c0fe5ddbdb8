/**
 * Streaming reverse-proxy core shared by the fault proxy and the ACR-like
 * origin. Bodies are piped both ways (multi-GB blobs never sit in memory) and
 * absolute Location headers that point at the upstream are rewritten to the
 * public origin, so clients stay on the proxy.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface Upstream {
  /** e.g. "http://127.0.0.1:5000" */
  url: string;
  /** PEM CA when the upstream is https with a harness certificate. */
  ca?: string;
}

export interface ForwardHooks {
  /** Public origin of the proxy, e.g. "http://127.0.0.1:6000" (Location rewrite target). */
  publicOrigin: string;
  /** Called once the upstream answered, before headers go to the client (may edit them). */
  onUpstreamResponse?(status: number, headers: http.OutgoingHttpHeaders): void;
  /** Cut the response body after this many bytes by destroying the client socket. */
  cutAfterBytes?: number;
  /** Called when the exchange is over (bytes = response body bytes sent). */
  onDone?(info: { status: number; bytesSent: number; aborted: boolean; error?: string }): void;
}

export function makeAgent(upstream: Upstream): http.Agent {
  const u = new URL(upstream.url);
  return u.protocol === 'https:'
    ? new https.Agent({ keepAlive: true, ca: upstream.ca, maxSockets: 64 })
    : new http.Agent({ keepAlive: true, maxSockets: 64 });
}

/** Rewrites an absolute URL on `from` origin to `to` origin; anything else is returned unchanged. */
export function rewriteLocation(location: string, from: string, to: string): string {
  try {
    const u = new URL(location);
    const f = new URL(from);
    if (u.host === f.host && u.protocol === f.protocol) {
      const t = new URL(to);
      u.protocol = t.protocol;
      u.host = t.host;
      return u.toString();
    }
  } catch {
    /* relative Location: leave it alone, it already resolves against the proxy */
  }
  return location;
}

export function forward(req: http.IncomingMessage, res: http.ServerResponse, upstream: Upstream, agent: http.Agent, hooks: ForwardHooks): void {
  const target = new URL(req.url ?? '/', upstream.url);
  const headers: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    headers[k] = v;
  }
  headers.host = target.host;
  const mod = target.protocol === 'https:' ? https : http;
  let finished = false;
  const done = (info: { status: number; bytesSent: number; aborted: boolean; error?: string }) => {
    if (finished) return;
    finished = true;
    hooks.onDone?.(info);
  };

  const upReq = mod.request(target, { method: req.method, headers, agent });
  upReq.on('response', (upRes) => {
    const outHeaders: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(upRes.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k)) continue;
      outHeaders[k] = v;
    }
    if (typeof outHeaders.location === 'string') outHeaders.location = rewriteLocation(outHeaders.location, upstream.url, hooks.publicOrigin);
    const status = upRes.statusCode ?? 502;
    hooks.onUpstreamResponse?.(status, outHeaders);
    res.writeHead(status, outHeaders);
    let sent = 0;
    const cut = hooks.cutAfterBytes;
    upRes.on('data', (chunk: Buffer) => {
      if (cut !== undefined && sent + chunk.length >= cut) {
        const part = chunk.subarray(0, Math.max(0, cut - sent));
        sent += part.length;
        upRes.destroy();
        // Flush what we have, then kill the socket: the client sees a short body.
        res.write(part, () => {
          res.socket?.destroy();
          done({ status, bytesSent: sent, aborted: true });
        });
        return;
      }
      sent += chunk.length;
      if (!res.write(chunk)) {
        upRes.pause();
        res.once('drain', () => upRes.resume());
      }
    });
    upRes.on('end', () => {
      res.end();
      done({ status, bytesSent: sent, aborted: false });
    });
    upRes.on('error', (err) => {
      res.socket?.destroy();
      done({ status, bytesSent: sent, aborted: true, error: String(err) });
    });
  });
  upReq.on('error', (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`bad gateway: ${err.message}`);
      done({ status: 502, bytesSent: 0, aborted: false, error: String(err) });
    } else {
      res.socket?.destroy();
      done({ status: res.statusCode, bytesSent: 0, aborted: true, error: String(err) });
    }
  });
  // Client went away mid-request (e.g. aborted upload): stop the upstream too.
  res.on('close', () => {
    if (!res.writableFinished) {
      upReq.destroy();
      done({ status: res.statusCode, bytesSent: 0, aborted: true });
    }
  });
  req.pipe(upReq);
}

/** A forward proxy's CONNECT (HTTPS_PROXY): once `host:port` answers, the client is piped to it. */
export function tunnel(client: Duplex, head: Buffer, port: number, host: string): void {
  const upstream = net.connect(port, host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
}
