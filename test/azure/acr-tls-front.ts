/**
 * An https front for the harness's ACR-like origin, with a fake of ACR's metadata API
 * (`/acr/v1/`) that @azure/container-registry calls (the SDK refuses plain http):
 *   /v2/*, /oauth2/*                       forwarded to the origin; the challenge realm is
 *                                          rewritten to this front, like ACR's own
 *   GET   /acr/v1/{name}/_manifests        every manifest of a repository (tagged and their children)
 *   GET   /acr/v1/{name}/_manifests/{d}    one manifest
 *   PATCH /acr/v1/{name}/_manifests/{d}    changeable attributes (locks), recorded
 *   GET   /acr/v1/{name}/_tags/{tag}       a tag
 * The metadata is computed from the real registry behind the origin. Like Go's TLS servers, a
 * plain-http request is answered "400 Client sent an HTTP request to an HTTPS server".
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { request } from 'undici';
import { forward, makeAgent } from '../harness/http-forward.js';
import { createTestCA, issueServerCert } from '../harness/pki.js';
import type { RunningAcrOrigin } from '../harness/acr-origin.js';
import { LOOPBACK, makeTempDir, readBody, removeTempDir, sendJson } from '../harness/util.js';

export interface LockRecord {
  repository: string;
  digest: string;
  body: Record<string, unknown>;
}

export interface RunningAcrTlsFront {
  url: string;
  host: string;
  caPath: string;
  caPem: string;
  /** PATCH bodies received on /acr/v1/{name}/_manifests/{digest}. */
  patches: LockRecord[];
  /** /acr/v1 requests, "METHOD path" (authorized ones). */
  metadataRequests: string[];
  stop(): Promise<void>;
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface Attrs {
  digest: string;
  imageSize: number;
  createdTime: string;
  lastUpdateTime: string;
  mediaType: string;
  architecture?: string;
  os?: string;
  references?: { digest: string; architecture?: string; os?: string }[];
  tags: string[];
  changeableAttributes: { deleteEnabled: boolean; writeEnabled: boolean; readEnabled: boolean; listEnabled: boolean };
}

export async function startAcrTlsFront(origin: RunningAcrOrigin): Promise<RunningAcrTlsFront> {
  const dir = makeTempDir('acr-tls-front');
  const ca = await createTestCA(dir, 'acr-import azure test CA');
  const cert = await issueServerCert(ca, dir, { name: 'front' });
  const patches: LockRecord[] = [];
  const metadataRequests: string[] = [];
  const firstSeen = new Map<string, string>();
  const locks = new Map<string, Partial<Attrs['changeableAttributes']>>();
  const agent = makeAgent({ url: origin.url });

  const tls = https.createServer({ cert: cert.certPem, key: cert.keyPem });
  const raw = net.createServer((socket) => {
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (!first) return socket.destroy();
      socket.unshift(first);
      if (first[0] === 0x16) {
        tls.emit('connection', socket);
      } else {
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
      }
    });
  });
  const sockets = new Set<net.Socket>();
  raw.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => raw.listen(0, LOOPBACK, resolve));
  const port = (raw.address() as net.AddressInfo).port;
  const host = `${LOOPBACK}:${port}`;
  const url = `https://${host}`;
  const realm = `${url}/oauth2/token`;

  // --- reading the registry behind the origin ---------------------------------------------------
  const upstream = async (repo: string, path: string, accept?: string) => {
    const token = origin.mintAccessToken([{ type: 'repository', name: repo, actions: ['pull'] }]);
    const res = await request(`${origin.url}/v2/${repo}/${path}`, { headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) } });
    const body = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, body, contentType: String(res.headers['content-type'] ?? '') };
  };
  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const tagsOf = async (repo: string): Promise<Map<string, string[]>> => {
    const r = await upstream(repo, 'tags/list');
    const tags = r.status === 200 ? ((JSON.parse(r.body.toString()) as { tags?: string[] }).tags ?? []) : [];
    const out = new Map<string, string[]>();
    for (const t of tags) {
      const m = await upstream(repo, `manifests/${t}`, MANIFEST_ACCEPT);
      if (m.status !== 200) continue;
      const d = sha(m.body);
      out.set(d, [...(out.get(d) ?? []), t]);
    }
    return out;
  };
  const attrs = async (repo: string, digest: string, tags: Map<string, string[]>): Promise<{ a: Attrs; children: string[] } | undefined> => {
    const m = await upstream(repo, `manifests/${digest}`, MANIFEST_ACCEPT);
    if (m.status !== 200) return undefined;
    const json = JSON.parse(m.body.toString()) as { mediaType?: string; manifests?: { digest: string; platform?: { architecture?: string; os?: string } }[]; config?: { digest: string; size: number }; layers?: { size: number }[] };
    const key = `${repo}@${digest}`;
    if (!firstSeen.has(key)) firstSeen.set(key, new Date().toISOString());
    const lock = locks.get(key) ?? {};
    const a: Attrs = {
      digest,
      imageSize: m.body.length,
      createdTime: firstSeen.get(key)!,
      lastUpdateTime: firstSeen.get(key)!,
      mediaType: json.mediaType ?? m.contentType.split(';')[0]!,
      tags: tags.get(digest) ?? [],
      changeableAttributes: { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true, ...lock },
    };
    let children: string[] = [];
    if (Array.isArray(json.manifests)) {
      a.references = json.manifests.map((d) => ({ digest: d.digest, architecture: d.platform?.architecture, os: d.platform?.os }));
      children = json.manifests.map((d) => d.digest);
    } else {
      a.imageSize = (json.config?.size ?? 0) + (json.layers ?? []).reduce((n, l) => n + l.size, 0);
      if (json.config) {
        const cfg = await upstream(repo, `blobs/${json.config.digest}`);
        try {
          const c = JSON.parse(cfg.body.toString()) as { architecture?: string; os?: string };
          a.architecture = c.architecture;
          a.os = c.os;
        } catch {
          /* not an image config */
        }
      }
    }
    return { a, children };
  };

  // --- /acr/v1 ---------------------------------------------------------------------------------
  const authorized = (req: http.IncomingMessage, repo: string, action: string): boolean => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const claims = origin.issuer.verify(m[1]!, { audience: origin.service });
    return Boolean(claims?.access.some((e) => e.type === 'repository' && e.name === repo && (e.actions.includes(action) || e.actions.includes('*'))));
  };
  const challenge = (res: http.ServerResponse, repo: string, action: string) =>
    sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, {
      'www-authenticate': `Bearer realm="${realm}",service="${origin.service}",scope="repository:${repo}:${action}"`,
    });

  async function metadata(req: http.IncomingMessage, res: http.ServerResponse, u: URL): Promise<void> {
    const m = /^\/acr\/v1\/(.+?)\/(_manifests|_tags)(?:\/([^/]+))?$/.exec(u.pathname);
    if (!m) return sendJson(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'not found' }] });
    const repo = decodeURIComponent(m[1]!);
    const what = m[2]!;
    const ref = m[3] ? decodeURIComponent(m[3]) : undefined;
    const action = req.method === 'PATCH' ? 'metadata_write' : 'metadata_read';
    const body = await readBody(req);
    if (!authorized(req, repo, action)) return challenge(res, repo, action);
    metadataRequests.push(`${req.method} ${u.pathname}`);
    const tags = await tagsOf(repo);
    if (what === '_tags') {
      if (!ref || req.method !== 'GET') return sendJson(res, 405, { errors: [{ code: 'UNSUPPORTED', message: 'unsupported' }] });
      const digest = [...tags.entries()].find(([, ts]) => ts.includes(ref))?.[0];
      if (!digest) return sendJson(res, 404, { errors: [{ code: 'TAG_UNKNOWN', message: `tag ${ref} not found` }] });
      const now = new Date().toISOString();
      return sendJson(res, 200, {
        registry: host,
        imageName: repo,
        tag: { name: ref, digest, createdTime: now, lastUpdateTime: now, signed: false, changeableAttributes: { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true } },
      });
    }
    if (!ref) {
      const out: Attrs[] = [];
      const seen = new Set<string>();
      const queue = [...tags.keys()];
      while (queue.length) {
        const d = queue.shift()!;
        if (seen.has(d)) continue;
        seen.add(d);
        const r = await attrs(repo, d, tags);
        if (!r) continue;
        out.push(r.a);
        queue.push(...r.children);
      }
      return sendJson(res, 200, { registry: host, imageName: repo, manifests: out });
    }
    const key = `${repo}@${ref}`;
    if (req.method === 'PATCH') {
      const change = JSON.parse(body.toString() || '{}') as Record<string, unknown>;
      patches.push({ repository: repo, digest: ref, body: change });
      const lock = locks.get(key) ?? {};
      for (const k of ['deleteEnabled', 'writeEnabled', 'readEnabled', 'listEnabled'] as const) if (typeof change[k] === 'boolean') lock[k] = change[k] as boolean;
      locks.set(key, lock);
    } else if (req.method !== 'GET') {
      return sendJson(res, 405, { errors: [{ code: 'UNSUPPORTED', message: 'unsupported' }] });
    }
    const r = await attrs(repo, ref, tags);
    if (!r) return sendJson(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: `manifest ${ref} not found` }] });
    return sendJson(res, 200, { registry: host, imageName: repo, manifest: r.a });
  }

  tls.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? '/', url);
    if (u.pathname.startsWith('/acr/v1/')) {
      void metadata(req, res, u).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] });
      });
      return;
    }
    forward(req, res, { url: origin.url }, agent, {
      publicOrigin: url,
      onUpstreamResponse: (_status, headers) => {
        const h = headers['www-authenticate'];
        if (typeof h === 'string') headers['www-authenticate'] = h.replace(origin.realm, realm);
      },
    });
  });

  let stopped: Promise<void> | undefined;
  return {
    url,
    host,
    caPath: ca.certPath,
    caPem: ca.certPem,
    patches,
    metadataRequests,
    stop: () => {
      stopped ??= (async () => {
        await new Promise<void>((resolve) => {
          raw.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
        tls.close();
        agent.destroy();
        removeTempDir(dir);
      })();
      return stopped;
    },
  };
}
