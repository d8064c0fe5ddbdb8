// Small hostile servers for the security tests: each records every request it gets (headers and
// body), answers as the test says, and can serve TLS under real-looking names (the harness CA,
// mapped to loopback with TEST_NETWORK_GUARD_HOSTS). A real registry cannot be made to misbehave
// this way; these only play the attacker.
import * as http from 'node:http';
import * as https from 'node:https';
import { forward, makeAgent } from '../harness/http-forward.js';
import { createTestCA, issueServerCert } from '../harness/pki.js';
import { listen, makeTempDir, readBody, removeTempDir } from '../harness/util.js';

export interface SeenRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HostileServer {
  /** `http(s)://<name or 127.0.0.1>:port` */
  url: string;
  /** `<name or 127.0.0.1>:port` */
  host: string;
  port: number;
  requests: SeenRequest[];
  /** The CA that signed a TLS server's certificate (for NODE_EXTRA_CA_CERTS). */
  caPath?: string;
  caPem?: string;
  /** Everything it was sent, headers and bodies, as one string: for "no secret reached it". */
  seen(): string;
  stop(): Promise<void>;
}

export type Handler = (req: SeenRequest, res: http.ServerResponse, raw: http.IncomingMessage) => void | Promise<void>;

/**
 * `name`: serve TLS with a certificate for that name (and 127.0.0.1); the URL then uses the name.
 * `keepBody`: leave the request body unread for the handler (a forwarding front).
 */
export async function startHostile(handler: Handler, opts: { name?: string; keepBody?: boolean } = {}): Promise<HostileServer> {
  const dir = opts.name ? makeTempDir('hostile') : undefined;
  let server: http.Server;
  let caPath: string | undefined;
  let caPem: string | undefined;
  if (opts.name && dir) {
    const ca = await createTestCA(dir, 'acr-import hostile CA');
    const cert = await issueServerCert(ca, dir, { name: 'hostile', hosts: [opts.name, '127.0.0.1'] });
    server = https.createServer({ cert: cert.certPem, key: cert.keyPem });
    caPath = ca.certPath;
    caPem = ca.certPem;
  } else {
    server = http.createServer();
  }
  const requests: SeenRequest[] = [];
  server.on('request', (raw: http.IncomingMessage, res: http.ServerResponse) => {
    void (async () => {
      const body = opts.keepBody ? '' : (await readBody(raw)).toString('utf8');
      const seen: SeenRequest = { method: raw.method ?? 'GET', path: raw.url ?? '/', headers: raw.headers, body };
      requests.push(seen);
      await handler(seen, res, raw);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const l = await listen(server);
  const port = Number(l.host.split(':')[1]);
  const host = opts.name ? `${opts.name}:${port}` : l.host;
  return {
    url: `${opts.name ? 'https' : 'http'}://${host}`,
    host,
    port,
    requests,
    caPath,
    caPem,
    seen: () => requests.map((r) => `${r.method} ${r.path}\n${JSON.stringify(r.headers)}\n${r.body}`).join('\n'),
    stop: async () => {
      await l.close();
      if (dir) removeTempDir(dir);
    },
  };
}

/**
 * An https front under `name` for an http registry origin (the harness ACR origin): everything
 * forwarded, the challenge realm rewritten to the front, as ACR names its own origin.
 */
export async function startNamedTlsFront(upstreamUrl: string, name: string): Promise<HostileServer> {
  const upstream = { url: upstreamUrl };
  const agent = makeAgent(upstream);
  let publicOrigin = '';
  const front = await startHostile(
    (_seen, res, raw) => {
      forward(raw, res, upstream, agent, {
        publicOrigin,
        onUpstreamResponse: (_status, headers) => {
          const challenge = headers['www-authenticate'];
          if (typeof challenge === 'string') headers['www-authenticate'] = challenge.split(upstreamUrl).join(publicOrigin);
        },
      });
    },
    { name, keepBody: true },
  );
  publicOrigin = front.url;
  return front;
}
