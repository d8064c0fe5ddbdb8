/**
 * The OCI 1.1 referrers API in front of a real Distribution 2.8, which has none. Every request is
 * forwarded; manifest PUTs are read on the way, and those with a `subject` are recorded (and
 * answered with `OCI-Subject`, as the spec asks of a registry with the API). Then
 * `GET /v2/<name>/referrers/<digest>` answers an image index of them, filtered by
 * `artifactType` (with `OCI-Filters-Applied`) and cut into small pages linked by `Link`.
 * Access to the listing is what the registry grants for the repository's tags list.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { forward, makeAgent, rewriteLocation, type Upstream } from './http-forward.js';
import { classifyPath } from './proxy.js';
import { listen, readBody, sendJson } from './util.js';

export interface ReferrerRecord {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ReferrersApiOptions {
  upstream: string | Upstream;
  /** Referrers per page (default 2, so that `Link` is exercised). */
  pageSize?: number;
  /** Whether to honour `?artifactType=` (default true; false answers unfiltered without the header). */
  filter?: boolean;
  /** Next-page links on this origin (absolute), as a registry behind a CDN may send them; default relative. */
  linkOrigin?: string;
}

export interface RunningReferrersApi {
  url: string;
  host: string;
  /** repository → subject digest → referrers, in the order they were pushed. */
  readonly recorded: Map<string, Map<string, ReferrerRecord[]>>;
  /** Referrers GETs answered, with their query. */
  readonly listings: string[];
  stop(): Promise<void>;
}

export async function startReferrersApi(opts: ReferrersApiOptions): Promise<RunningReferrersApi> {
  const upstream: Upstream = typeof opts.upstream === 'string' ? { url: opts.upstream } : opts.upstream;
  upstream.url = upstream.url.replace(/\/+$/, '');
  const agent = makeAgent(upstream);
  const pageSize = opts.pageSize ?? 2;
  const recorded = new Map<string, Map<string, ReferrerRecord[]>>();
  const listings: string[] = [];
  let publicOrigin = '';

  const record = (repo: string, body: Buffer, contentType: string | undefined): string | undefined => {
    let json: { mediaType?: string; artifactType?: string; config?: { mediaType?: string }; subject?: { digest?: string }; annotations?: Record<string, string> };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch {
      return undefined;
    }
    const subject = json.subject?.digest;
    if (!subject) return undefined;
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const bySubject = recorded.get(repo) ?? new Map<string, ReferrerRecord[]>();
    recorded.set(repo, bySubject);
    const list = bySubject.get(subject) ?? [];
    bySubject.set(subject, list);
    if (!list.some((r) => r.digest === digest)) {
      const artifactType = json.artifactType ?? json.config?.mediaType;
      list.push({ mediaType: json.mediaType ?? contentType ?? '', digest, size: body.length, ...(artifactType ? { artifactType } : {}), ...(json.annotations ? { annotations: json.annotations } : {}) });
    }
    return subject;
  };

  /** Sends a buffered request upstream and relays the answer, headers edited by `edit`. */
  const relay = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, edit: (status: number, headers: http.OutgoingHttpHeaders) => void) => {
    const target = new URL(req.url ?? '/', upstream.url);
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: target.host, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    delete headers.connection;
    const up = http.request(target, { method: req.method, headers, agent }, (upRes) => {
      const out: http.OutgoingHttpHeaders = { ...upRes.headers };
      delete out.connection;
      delete out['transfer-encoding'];
      if (typeof out.location === 'string') out.location = rewriteLocation(out.location, upstream.url, publicOrigin);
      edit(upRes.statusCode ?? 502, out);
      res.writeHead(upRes.statusCode ?? 502, out);
      upRes.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) sendJson(res, 502, { errors: [{ code: 'UNAVAILABLE', message: err.message }] });
      else res.destroy();
    });
    up.end(body);
  };

  /** Whether the caller may list the repository: asked of the registry itself, with the caller's credentials. */
  const allowed = (req: http.IncomingMessage, repo: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> =>
    new Promise((resolve, reject) => {
      const target = new URL(`/v2/${repo}/tags/list`, upstream.url);
      const up = http.request(target, { method: 'GET', agent, headers: req.headers.authorization ? { authorization: req.headers.authorization } : {} }, (r) => {
        r.resume();
        resolve({ status: r.statusCode ?? 502, headers: r.headers });
      });
      up.on('error', reject);
      up.end();
    });

  const list = async (req: http.IncomingMessage, res: http.ServerResponse, repo: string, subject: string) => {
    const check = await allowed(req, repo);
    if (check.status === 401 || check.status === 403) {
      const h: Record<string, string> = {};
      if (check.headers['www-authenticate']) h['www-authenticate'] = String(check.headers['www-authenticate']);
      return sendJson(res, check.status, { errors: [{ code: check.status === 401 ? 'UNAUTHORIZED' : 'DENIED', message: 'access to the repository is refused' }] }, h);
    }
    const u = new URL(req.url ?? '/', 'http://x');
    listings.push(u.search);
    const type = opts.filter === false ? null : u.searchParams.get('artifactType');
    const all = (recorded.get(repo)?.get(subject) ?? []).filter((r) => !type || r.artifactType === type);
    const page = Number(u.searchParams.get('page') ?? '0');
    const slice = all.slice(page * pageSize, (page + 1) * pageSize);
    const headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.index.v1+json' };
    if (type) headers['oci-filters-applied'] = 'artifactType';
    if ((page + 1) * pageSize < all.length) {
      const next = new URLSearchParams(u.searchParams);
      next.set('page', String(page + 1));
      headers.link = `<${opts.linkOrigin ?? ''}${u.pathname}?${next.toString()}>; rel="next"`;
    }
    sendJson(res, 200, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: slice }, headers);
  };

  const server = http.createServer((req, res) => {
    const info = classifyPath(req.url ?? '/');
    void (async () => {
      try {
        if (info.kind === 'referrers' && req.method === 'GET') return await list(req, res, info.repo!, info.reference!);
        if (info.kind === 'manifest' && req.method === 'PUT') {
          const body = await readBody(req);
          return relay(req, res, body, (status, headers) => {
            if (status !== 201) return;
            const subject = record(info.repo!, body, req.headers['content-type']);
            if (subject) headers['oci-subject'] = subject;
          });
        }
        forward(req, res, upstream, agent, { publicOrigin });
      } catch (err) {
        if (!res.headersSent) sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] });
        else res.destroy();
      }
    })();
  });
  const l = await listen(server, 0);
  publicOrigin = `http://${l.host}`;
  return {
    url: publicOrigin,
    host: l.host,
    recorded,
    listings,
    stop: async () => {
      await l.close();
      agent.destroy();
    },
  };
}
