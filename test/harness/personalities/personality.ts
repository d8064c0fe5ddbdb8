/**
 * A registry personality: a reverse proxy in front of a real Distribution registry that behaves
 * the way one well-known registry does (see profile.ts and profiles.ts), plus a second loopback
 * origin standing in for where that registry sends clients elsewhere (a regional registry, a
 * blob store behind signed URLs, an upload store). Every request to either origin, and to the
 * token realm, is recorded with its Authorization header (hops.ts); tests script faults on any
 * one request (scripts.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { Transform, pipeline } from 'node:stream';
import { Agent, request } from 'undici';
import { rewriteLocation } from '../http-forward.js';
import { classifyPath } from '../proxy.js';
import { listen, sendJson } from '../util.js';
import { startFrontDoor, type FrontDoor } from './front-door.js';
import { HopLog, type Hop, type OriginRole } from './hops.js';
import type { Profile } from './profile.js';
import { ScriptBook, type RequestInfo, type Script, type Scripted } from './scripts.js';

export interface Personality {
  readonly profile: Profile;
  /** Registry origin, e.g. "http://127.0.0.1:PORT". */
  readonly url: string;
  /** "127.0.0.1:PORT": the host to name in references. */
  readonly host: string;
  /** The second origin (regional registry, blob store, upload store). */
  readonly sideUrl: string;
  /** The personality's own user and password (none when it is anonymous). */
  readonly credentials?: { username: string; password: string };
  readonly door: FrontDoor;
  readonly log: HopLog;
  /** Every hop so far: registry, side origin and realm. */
  hops(): Hop[];
  /** Puts a scripted answer on the requests `when` matches. */
  script(s: Script): { used(): number; remove(): void };
  /**
   * Where credentials went that should not have: any Authorization at the side origin, one the
   * personality did not issue at its registry, another user at its realm. Empty when all is well.
   */
  credentialLeaks(hops?: Hop[]): string[];
  stop(): Promise<void>;
}

const READS = new Set(['GET', 'HEAD']);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization']);
const RECORDED = ['location', 'content-type', 'content-length', 'docker-content-digest', 'www-authenticate', 'range', 'oci-chunk-min-length', 'ratelimit-remaining'];

/** State of one upload session, keyed by the registry's upload UUID. */
interface Session {
  received: number;
  lastChunkSmall: boolean;
  firstRangeEnd?: number;
}

export async function startPersonality(profile: Profile, opts: { upstream: string; name?: string }): Promise<Personality> {
  const upstream = opts.upstream.replace(/\/+$/, '');
  const b = profile.behaviours;
  // Two personalities of one profile need two names: their users and records must not mix.
  const name = opts.name ?? profile.name;
  const door = await startFrontDoor(name, profile.door);
  const log = new HopLog();
  const book = new ScriptBook();
  const agent = new Agent({ keepAliveTimeout: 2_000 });
  const sessions = new Map<string, Session>();
  const signedBlobs = new Set<string>();
  /** Signed upload URL id → the registry's own upload URL (its `_state` changes after each PATCH). */
  const uploads = new Map<string, { upstream: string; signature: string; repo: string }>();
  const lostOnce = new Set<string>();
  let pulls = 0;
  let seq = 0;
  let publicOrigin = '';
  let sideOrigin = '';

  const session = (uuid: string | undefined): Session | undefined => {
    if (!uuid) return undefined;
    let s = sessions.get(uuid);
    if (!s) sessions.set(uuid, (s = { received: 0, lastChunkSmall: false }));
    return s;
  };

  const record = (role: OriginRole, req: http.IncomingMessage, info: Omit<RequestInfo, 'seq' | 'role' | 'method' | 'headers'>): { info: RequestInfo; hop: Hop } => {
    const full: RequestInfo = { seq: ++seq, method: req.method ?? 'GET', headers: req.headers, role, ...info };
    const hop = log.add({
      origin: `${name}/${role}`,
      role,
      method: full.method,
      path: full.path,
      kind: full.kind,
      repo: full.repo,
      reference: full.reference,
      authorization: req.headers.authorization,
      status: 0,
      responseHeaders: {},
    });
    return { info: full, hop };
  };

  const answer = (res: http.ServerResponse, hop: Hop, status: number, headers: Record<string, string>, body?: unknown) => {
    hop.status = status;
    hop.responseHeaders = pickHeaders(headers);
    if (body === undefined) {
      res.writeHead(status, { 'content-length': '0', ...headers });
      res.end();
    } else sendJson(res, status, body, headers);
  };
  const registryError = (res: http.ServerResponse, hop: Hop, status: number, code: string, message: string, headers: Record<string, string> = {}) =>
    answer(res, hop, status, headers, { errors: [{ code, message }] });

  /** The checks of a chunk a strict registry makes before taking it; an answer when it refuses. */
  const refusePatch = (req: http.IncomingMessage, s: Session | undefined): { code: string; message: string; range: string } | undefined => {
    if (!s) return undefined;
    const range = s.received > 0 ? `0-${s.received - 1}` : '0-0';
    if (b.chunkMinLength && s.lastChunkSmall) return { code: 'BLOB_UPLOAD_INVALID', message: `chunks must be at least ${b.chunkMinLength} bytes but the last`, range };
    const start = /^(?:bytes )?(\d+)-\d+/.exec(req.headers['content-range'] ?? '');
    if (b.strictContentRange && start && Number(start[1]) !== s.received) return { code: 'BLOB_UPLOAD_INVALID', message: `chunk starts at ${start[1]}, session holds ${s.received} bytes`, range };
    return undefined;
  };

  /** Response headers as this registry would send them. */
  const edit = (info: RequestInfo, status: number, headers: Record<string, string>, requestBytes: number): number => {
    if (headers.location) headers.location = rewriteLocation(headers.location, upstream, publicOrigin);
    // A session's next Location (202); the 201 of a closing PUT points at the blob, not at a session.
    if (info.kind === 'upload' && status === 202 && headers.location) {
      const loc = new URL(headers.location, publicOrigin);
      if (b.signedUploadUrls) {
        const id = info.role === 'side' ? info.reference! : randomBytes(8).toString('hex');
        const prev = uploads.get(id);
        const signature = prev?.signature ?? randomBytes(16).toString('hex');
        uploads.set(id, { upstream: new URL(`${loc.pathname}${loc.search}`, upstream).toString(), signature, repo: info.repo! });
        headers.location = `${sideOrigin}/upload/${id}?X-Amz-Expires=900&X-Amz-Signature=${signature}`;
      } else if (b.relativeUploadLocation) {
        headers.location = `${loc.pathname}?_nouploadcache=false&${loc.search.slice(1)}`;
      }
    }
    const uuid = uploadUuid(info, uploads);
    if (info.kind === 'upload' && info.method === 'POST' && status === 202 && b.chunkMinLength) headers['oci-chunk-min-length'] = String(b.chunkMinLength);
    if (info.kind === 'upload' && info.method === 'PATCH' && status === 202) {
      const s = session(uuid)!;
      s.received += requestBytes;
      s.lastChunkSmall = b.chunkMinLength !== undefined && requestBytes < b.chunkMinLength;
      if (b.stuckRange) {
        s.firstRangeEnd ??= s.received - 1;
        headers.range = `0-${s.firstRangeEnd}`;
        status = 201;
      }
    }
    if (info.kind === 'upload' && info.method === 'GET' && b.stuckRange) {
      const s = session(uuid);
      if (s?.firstRangeEnd !== undefined) headers.range = `0-${s.firstRangeEnd}`;
    }
    if (info.kind === 'manifest' && status === 200) {
      if (b.manifestContentType) headers['content-type'] = b.manifestContentType;
      if (b.dropDigest === 'manifest-get' && info.method === 'GET') delete headers['docker-content-digest'];
      if (b.rateLimit && info.method === 'GET') {
        pulls++;
        headers['ratelimit-limit'] = `${b.rateLimit.limit};w=${b.rateLimit.window}`;
        headers['ratelimit-remaining'] = `${Math.max(0, b.rateLimit.limit - pulls)};w=${b.rateLimit.window}`;
        headers['docker-ratelimit-source'] = '127.0.0.1';
      }
    }
    if (info.kind === 'manifest' && info.method === 'PUT' && status === 201 && b.rewriteManifestDigest) {
      headers['docker-content-digest'] = `sha256:${createHash('sha256').update(`rewritten ${headers['docker-content-digest']}`).digest('hex')}`;
    }
    if (b.dropDigest === 'all') delete headers['docker-content-digest'];
    return status;
  };

  /** Sends the request on to the registry and the answer back, as `scripted` says. */
  const relay = async (req: http.IncomingMessage, res: http.ServerResponse, info: RequestInfo, hop: Hop, target: string, scripted: Scripted | undefined) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    let requestBytes = 0;
    const hasBody = !READS.has(info.method) && (req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined);
    // A Transform counts: a 'data' listener would switch the stream to flowing and lose bytes.
    // pipeline(): a client that goes away mid-body ends the registry request too.
    const counted = hasBody
      ? pipeline(
          req,
          new Transform({
            transform(chunk: Buffer, _enc, cb) {
              requestBytes += chunk.length;
              cb(null, chunk);
            },
          }),
          () => undefined,
        )
      : undefined;
    if (!hasBody) req.resume();
    let up: Awaited<ReturnType<typeof request>>;
    try {
      up = await request(target, { method: info.method as 'GET', headers, body: counted, dispatcher: agent });
    } catch (err) {
      return answer(res, hop, 502, { 'content-type': 'text/plain' }, `personality ${name}: ${String(err)}`);
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = Array.isArray(v) ? v.join(', ') : v;
    const status = edit(info, up.statusCode, out, requestBytes);
    hop.responseHeaders = pickHeaders(out);
    if (scripted === 'reset-after' && !READS.has(info.method)) {
      // The registry has done the work; the client never hears of it.
      await up.body.dump();
      hop.status = 0;
      req.socket.destroy();
      return;
    }
    const whole = info.method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(await up.body.arrayBuffer());
    hop.status = status;
    const half = whole.subarray(0, Math.floor(whole.length / 2));
    switch (info.method !== 'HEAD' && whole.length > 0 ? scripted : undefined) {
      case 'cut-mid':
        res.writeHead(status, { ...out, 'content-length': String(whole.length) });
        res.write(half, () => req.socket.destroy());
        return;
      case 'reset-after':
        res.writeHead(status, { ...out, 'content-length': String(whole.length) });
        res.write(whole, () => req.socket.destroy());
        return;
      case 'truncate-length':
        return closeCleanly(req, status, { ...out, 'content-length': String(whole.length) }, half);
      case 'truncate-no-length': {
        const { 'content-length': _dropped, ...rest } = out;
        return closeCleanly(req, status, rest, half);
      }
      default:
        res.writeHead(status, out);
        res.end(whole);
    }
  };

  const onRegistry = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = req.url ?? '/';
    const { info, hop } = record('registry', req, { path, ...classifyPath(path) });
    const scripted = book.take(info);
    hop.scripted = scripted;
    if (scripted === 'reset-before') return void req.socket.destroy();
    if (info.kind === 'base' && b.openBase) return answer(res, hop, 200, { 'content-type': 'application/json' }, {});
    const challenge = scripted === 'unauthorized' ? (door.challenge(info) ?? `Basic realm="${name}"`) : door.refuse(info);
    if (challenge) return registryError(res, hop, 401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': challenge });
    if (b.readOnly && !READS.has(info.method)) return registryError(res, hop, 405, 'UNSUPPORTED', `${name} serves reads only`);
    if (b.manifestHead405 && info.kind === 'manifest' && info.method === 'HEAD') return answer(res, hop, 405, {});
    if (b.redirectToRegional && (info.kind === 'manifest' || info.kind === 'blob') && READS.has(info.method)) {
      return answer(res, hop, 307, { location: `${sideOrigin}/v2/${b.redirectToRegional.prefix}/${path.slice('/v2/'.length)}` });
    }
    if (b.signedBlobUrls && info.kind === 'blob' && info.method === 'GET') {
      const signature = randomBytes(16).toString('hex');
      signedBlobs.add(signature);
      return answer(res, hop, 307, { location: `${sideOrigin}/blob/${info.repo}/${info.reference}?X-Amz-Expires=60&X-Amz-Signature=${signature}` });
    }
    const closing = info.kind === 'upload' && info.method === 'PUT' ? new URL(path, publicOrigin).searchParams.get('digest') : null;
    if (scripted === 'lose-session' || (b.loseSessionOnce && closing && !lostOnce.has(closing))) {
      if (closing) lostOnce.add(closing);
      return registryError(res, hop, 404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
    }
    let forwardPath = path;
    if ((scripted === 'refuse-mount' || b.refuseMounts) && info.kind === 'upload' && info.method === 'POST' && path.includes('mount=')) {
      forwardPath = path.split('?')[0]!;
    }
    if (info.kind === 'upload' && info.method === 'PATCH') {
      const refused = refusePatch(req, session(info.reference));
      if (refused) return registryError(res, hop, 416, refused.code, refused.message, { range: refused.range });
    }
    await relay(req, res, info, hop, `${upstream}${forwardPath}`, scripted);
  };

  const onSide = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://side');
    const blob = /^\/blob\/(.+)\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    const upload = /^\/upload\/([a-f0-9]+)$/.exec(url.pathname);
    const regional = b.redirectToRegional && url.pathname.startsWith(`/v2/${b.redirectToRegional.prefix}/`) ? `/v2/${url.pathname.slice(`/v2/${b.redirectToRegional.prefix}/`.length)}` : undefined;
    const known = upload ? uploads.get(upload[1]!) : undefined;
    const where = blob
      ? { kind: 'blob' as const, repo: blob[1], reference: blob[2] }
      : upload
        ? { kind: 'upload' as const, repo: known?.repo, reference: upload[1] }
        : regional
          ? classifyPath(regional)
          : { kind: 'other' as const };
    const { info, hop } = record('side', req, { path: req.url ?? '/', ...where });
    const scripted = book.take(info);
    hop.scripted = scripted;
    if (scripted === 'reset-before') return void req.socket.destroy();
    const s3Error = (status: number, code: string) => {
      req.resume();
      hop.status = status;
      const body = `<Error><Code>${code}</Code></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(body.length) });
      res.end(info.method === 'HEAD' ? undefined : body);
    };
    if (regional) return relay(req, res, info, hop, `${upstream}${regional}${url.search}`, scripted);
    // Stores behind signed URLs take the signature only: a second auth scheme is an error.
    if (req.headers.authorization) return s3Error(400, 'InvalidArgument');
    if (blob) {
      if (info.method !== 'GET') return s3Error(403, 'AccessDenied');
      if (!signedBlobs.has(url.searchParams.get('X-Amz-Signature') ?? '') || url.searchParams.get('X-Amz-Expires') !== '60') return s3Error(403, 'SignatureDoesNotMatch');
      return relay(req, res, info, hop, `${upstream}/v2/${blob[1]}/blobs/${blob[2]}`, scripted);
    }
    if (upload && known) {
      if (url.searchParams.get('X-Amz-Signature') !== known.signature || url.searchParams.get('X-Amz-Expires') !== '900') return s3Error(403, 'SignatureDoesNotMatch');
      if (scripted === 'lose-session') return registryError(res, hop, 404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
      const target = new URL(known.upstream);
      const digest = url.searchParams.get('digest');
      if (digest) target.searchParams.set('digest', digest);
      if (info.method === 'PATCH') {
        const refused = refusePatch(req, session(uploadUuid(info, uploads)));
        if (refused) return registryError(res, hop, 416, refused.code, refused.message, { range: refused.range });
      }
      return relay(req, res, info, hop, target.toString(), scripted);
    }
    return s3Error(404, 'NoSuchKey');
  };

  const serve = (handler: typeof onRegistry) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    void handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: `personality ${name}: ${String(err)}` }] });
      else res.destroy();
    });
  };
  const registry = await listen(http.createServer(serve(onRegistry)));
  const side = await listen(http.createServer(serve(onSide)));
  publicOrigin = `http://${registry.host}`;
  sideOrigin = `http://${side.host}`;

  const hops = () => [...log.hops, ...door.realmHops(`${name}/realm`)];
  let stopped: Promise<void> | undefined;
  return {
    profile,
    url: publicOrigin,
    host: registry.host,
    sideUrl: sideOrigin,
    credentials: door.credentials,
    door,
    log,
    hops,
    script: (s) => book.add(s),
    credentialLeaks: (list = hops()) =>
      list.flatMap((h) => {
        if (!h.authorization) return [];
        const bad =
          h.role === 'side' ||
          (h.role === 'registry' && !door.owns(h.authorization)) ||
          (h.role === 'realm' && h.authorization !== `Basic ${door.credentials?.username}`);
        return bad ? [`${h.origin} got Authorization ${h.authorization.split(' ')[0]} on ${h.method} ${h.path}`] : [];
      }),
    stop: () => {
      stopped ??= (async () => {
        await Promise.all([registry.close(), side.close(), door.stop()]);
        await agent.destroy();
      })();
      return stopped;
    },
  };
}

/** The registry's upload UUID of a request, also when it came through a signed upload URL. */
function uploadUuid(info: RequestInfo, uploads: Map<string, { upstream: string }>): string | undefined {
  if (info.kind !== 'upload' || !info.reference) return undefined;
  if (info.role === 'registry') return info.reference;
  const up = uploads.get(info.reference);
  return up ? classifyPath(new URL(up.upstream).pathname).reference : undefined;
}

function pickHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of RECORDED) if (h[k] !== undefined) out[k] = h[k];
  return out;
}

/** Writes status, headers and `body` straight to the socket, then closes it cleanly: a body shorter than promised, or one with no length at all. */
function closeCleanly(req: http.IncomingMessage, status: number, headers: Record<string, string>, body: Buffer): void {
  const head = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, ...Object.entries({ ...headers, connection: 'close' }).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  req.socket.write(`${head}\r\n\r\n`);
  req.socket.end(body);
}
