/**
 * A deliberately small registry HTTP client used by the fixture builder and
 * the blob CDN. It is independent of src/ on purpose: fixtures must not be
 * produced by the code under test.
 *
 * Auth: a fixed bearer, a bearer callback, or username/password which is used
 * as Basic or traded for a token at the realm of a Bearer challenge (GET with
 * Basic, the way `docker login` does). Tokens are cached per scope set.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { basicAuthHeader } from './util.js';

export interface RegistryTarget {
  /** Base URL of the registry, e.g. "http://127.0.0.1:5000". */
  url: string;
  username?: string;
  password?: string;
  /** A fixed bearer token, or a function minting one for the scopes a request needs. */
  bearer?: string | ((scopes: string[]) => string | Promise<string>);
  /** PEM CA for https registries signed by the harness CA. */
  ca?: string;
  /** Own undici dispatcher (overrides `ca`). */
  dispatcher?: Dispatcher;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses one WWW-Authenticate challenge (`Bearer realm="...",service="...",scope="..."`). */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(value);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!))) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: m[1]!.toLowerCase(), params };
}

export interface ClientResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** Scopes this request needs, e.g. ["repository:foo:pull,push"]. */
  scopes?: string[];
}

const agents = new Map<string, Agent>();
function agentFor(ca: string | undefined): Agent {
  const key = ca ?? '';
  let a = agents.get(key);
  if (!a) {
    // Short keep-alive: registries come and go between test files.
    a = new Agent({ connect: ca ? { ca } : {}, keepAliveTimeout: 1000, bodyTimeout: 0, headersTimeout: 120_000 });
    agents.set(key, a);
  }
  return a;
}

export class HarnessClient {
  readonly base: string;
  private readonly dispatcher: Dispatcher;
  private challenge: Promise<Challenge | undefined> | undefined;
  private readonly tokens = new Map<string, Promise<{ token: string; expires: number }>>();

  constructor(readonly target: RegistryTarget) {
    this.base = target.url.replace(/\/+$/, '');
    this.dispatcher = target.dispatcher ?? agentFor(target.ca);
  }

  /** Absolute URL for a path or a (possibly relative) Location header. */
  resolve(pathOrUrl: string): string {
    return new URL(pathOrUrl, `${this.base}/`).toString();
  }

  /** GET /v2/ once to learn the auth scheme (shared by concurrent callers). */
  private probe(): Promise<Challenge | undefined> {
    this.challenge ??= (async () => {
      const res = await request(`${this.base}/v2/`, { dispatcher: this.dispatcher });
      await res.body.dump();
      return res.statusCode === 401 ? parseChallenge(res.headers['www-authenticate']) : undefined;
    })();
    this.challenge.catch(() => {
      this.challenge = undefined;
    });
    return this.challenge;
  }

  private async authHeader(scopes: string[], challenge?: Challenge): Promise<string | undefined> {
    const t = this.target;
    if (typeof t.bearer === 'string') return `Bearer ${t.bearer}`;
    if (typeof t.bearer === 'function') return `Bearer ${await t.bearer(scopes)}`;
    const ch = challenge ?? (await this.probe());
    if (!ch) return undefined;
    if (ch.scheme === 'basic') return t.username !== undefined ? basicAuthHeader(t.username, t.password ?? '') : undefined;
    if (ch.scheme !== 'bearer' || !ch.params.realm) return undefined;
    const key = [...scopes].sort().join(' ');
    const cached = this.tokens.get(key);
    // The promise is cached, so concurrent requests for one scope set share one token request.
    if (cached && (await cached.catch(() => ({ expires: 0 }))).expires > Date.now()) return `Bearer ${(await cached).token}`;
    const p = this.fetchToken(ch, scopes);
    this.tokens.set(key, p);
    p.catch(() => this.tokens.delete(key));
    return `Bearer ${(await p).token}`;
  }

  private async fetchToken(ch: Challenge, scopes: string[]): Promise<{ token: string; expires: number }> {
    const t = this.target;
    const u = new URL(ch.params.realm!);
    if (ch.params.service) u.searchParams.set('service', ch.params.service);
    for (const s of scopes) u.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    if (t.username !== undefined) headers.authorization = basicAuthHeader(t.username, t.password ?? '');
    const res = await request(u, { headers, dispatcher: this.dispatcher });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`token request to ${u.origin}${u.pathname} failed: ${res.statusCode} ${text}`);
    const json = JSON.parse(text) as { token?: string; access_token?: string; expires_in?: number };
    const token = json.token ?? json.access_token;
    if (!token) throw new Error(`token response without token: ${text}`);
    // ACR answers no expires_in; 60 s is the spec default. Renew a little early.
    const ttl = Math.max(5, (json.expires_in ?? 60) - 10);
    return { token, expires: Date.now() + ttl * 1000 };
  }

  /**
   * Sends a request with auth. Retries once on 401 (with the new challenge)
   * when the body can be replayed (not a stream).
   */
  async request(method: string, pathOrUrl: string, opts: RequestOptions = {}): Promise<ClientResponse> {
    const url = this.resolve(pathOrUrl);
    const scopes = opts.scopes ?? [];
    const send = async (auth: string | undefined) => {
      const headers: Record<string, string> = { ...opts.headers };
      if (auth) headers.authorization = auth;
      return request(url, { method: method as Dispatcher.HttpMethod, headers, body: opts.body, dispatcher: this.dispatcher });
    };
    let res = await send(await this.authHeader(scopes));
    const replayable = opts.body === undefined || typeof opts.body === 'string' || Buffer.isBuffer(opts.body);
    if (res.statusCode === 401 && replayable && !this.target.bearer) {
      const ch = parseChallenge(res.headers['www-authenticate']);
      await res.body.dump();
      if (ch) {
        this.challenge = Promise.resolve(ch.scheme === 'bearer' ? { ...ch, params: { ...ch.params, scope: '' } } : ch);
        const wanted = ch.params.scope ? [...new Set([...scopes, ...ch.params.scope.split(' ')])] : scopes;
        this.tokens.delete([...wanted].sort().join(' '));
        res = await send(await this.authHeader(wanted, ch));
      } else {
        res = await send(undefined);
      }
    }
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  /** Like request() but reads the body and throws unless the status is expected. */
  async expect(method: string, pathOrUrl: string, expected: number[], opts: RequestOptions = {}): Promise<{ status: number; headers: ClientResponse['headers']; body: Buffer }> {
    const res = await this.request(method, pathOrUrl, opts);
    const body = Buffer.from(await res.body.arrayBuffer());
    if (!expected.includes(res.status)) {
      throw new Error(`${method} ${pathOrUrl} -> ${res.status} (expected ${expected.join('/')}): ${body.toString('utf8').slice(0, 500)}`);
    }
    return { status: res.status, headers: res.headers, body };
  }
}

/** Scope strings for a repository. */
export const pullScope = (repo: string) => `repository:${repo}:pull`;
export const pushScope = (repo: string) => `repository:${repo}:pull,push`;

export function header(headers: ClientResponse['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
