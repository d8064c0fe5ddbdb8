// The one HTTP layer under every registry call: scheme choice, connection pooling, proxies,
// redirects, bounded retries shared per host, a redacted debug trace, and network errors typed once.
// Redirects are followed here, not by undici's interceptor: credentials must go only to the
// origin they were given for, an https→http downgrade is refused, and callers need the URL that
// answered (finalUrl) to tell a registry's answer from a blob store's.
import type { Readable } from 'node:stream';
import type { buildConnector as BuildConnector, Dispatcher } from 'undici';
import { buildConnector, EnvHttpProxyAgent, request } from './undici.js';
import { AcrImportError } from '../errors.js';
import { isLoopbackHost } from '../oci/reference.js';
import { redactHeader, redactUrl } from './redact.js';
import { RetryBudget, RetryPolicy, backoff, errorCode, isRetryable, isRetryableStatus, parseRetryAfter, type RetryOptions } from './retry.js';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
export type RequestBody = Buffer | string | Readable;
export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface SendOptions {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /** A factory, so that a retry can rebuild the body (streams cannot be replayed). */
  body?: () => RequestBody;
  /** Follow redirects of a GET or HEAD (at most 5 hops); credentials go only to the first origin. */
  followRedirects?: boolean;
  /** Retry on 429/5xx and broken connections. Off for requests whose failure must be handled above. */
  retry?: boolean;
  /** The budget of the operation this request belongs to (a blob transfer); each retry draws from it. */
  budget?: RetryBudget;
  signal?: AbortSignal;
}

/** Redirect hops followed at most (one more answer is an error): a loop ends quickly. */
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
/** Request headers that carry credentials: never sent to an origin other than the one asked. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

export interface HttpResponse {
  status: number;
  headers: ResponseHeaders;
  body: Dispatcher.ResponseData['body'];
  /** The URL that was asked for (redirects are followed inside). */
  url: string;
  /** The URL that answered: after redirects, the last hop's. Challenges are learnt only from the registry's own origin. */
  finalUrl: string;
}

export interface HttpObserver {
  onResponse?(req: SendOptions, res: HttpResponse): void;
}

export interface TransportOptions {
  /** Registries reached over plain http although they are not on loopback. */
  insecureRegistries?: string[];
  connectionsPerHost?: number;
  /** Time without a byte before a request is given up (and retried). */
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  userAgent?: string;
  /** Receives the redacted trace (`--debug`). */
  debug?: (line: string) => void;
  /** TLS CA certificates to trust besides the system's (tests; users set NODE_EXTRA_CA_CERTS). */
  ca?: string | Buffer;
  /** Registries (`host` or `host:port`) whose TLS certificate is not verified (--skip-tls-verify). */
  skipTlsVerify?: string[];
}

/** Drops a response body unread. undici then emits an AbortError on it: heard here, not as an uncaught exception. */
export function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.once('error', () => undefined);
  body.destroy();
}

export function header(headers: ResponseHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export class Transport {
  readonly retry: RetryPolicy;
  private readonly direct: Dispatcher;
  private readonly insecure: Set<string>;
  private readonly observers: HttpObserver[] = [];

  constructor(private readonly options: TransportOptions = {}) {
    const timeout = options.timeoutMs ?? 60_000;
    // EnvHttpProxyAgent is a plain Agent unless HTTP(S)_PROXY is set, and honours NO_PROXY.
    this.direct = new EnvHttpProxyAgent({
      connections: options.connectionsPerHost ?? 16,
      keepAliveTimeout: 30_000,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: connector(options),
    });
    this.insecure = new Set((options.insecureRegistries ?? []).map((h) => h.toLowerCase()));
    this.retry = new RetryPolicy(options.retry);
  }

  /** `http://` for loopback and registries named insecure, `https://` for everything else. */
  baseUrl(host: string): string {
    const plain = isLoopbackHost(host) || this.insecure.has(host.toLowerCase());
    return `${plain ? 'http' : 'https'}://${host}`;
  }

  observe(observer: HttpObserver): void {
    this.observers.push(observer);
  }


  async close(): Promise<void> {
    await this.direct.close();
  }

  /**
   * Sends a request, retrying (when allowed) on 429/5xx and broken connections with backoff
   * shared by every request to the host. Returns the last response, whatever its status:
   * mapping statuses to errors is the registry layer's job.
   */
  async send(req: SendOptions): Promise<HttpResponse> {
    const host = new URL(req.url).host;
    const max = req.retry !== false ? this.retry.options.maxAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      await this.retry.waitTurn(host, req.signal);
      let res: HttpResponse;
      try {
        res = await this.follow(req);
      } catch (err) {
        if (attempt >= max || !isRetryable(err) || req.signal?.aborted || !(req.budget?.take() ?? true)) throw this.networkError(err, req);
        const wait = this.retry.delay(attempt);
        this.trace(`retry ${req.method} ${redactUrl(req.url)} after ${errorCode(err) ?? 'error'} in ${wait} ms (attempt ${attempt + 1}/${max})`);
        await backoff(wait, req.signal);
        continue;
      }
      if (attempt >= max || !isRetryableStatus(res.status) || !(req.budget?.take() ?? true)) return res;
      const wait = this.retry.delay(attempt, parseRetryAfter(header(res.headers, 'retry-after')));
      // A 429 or 503 is about the host, not this request: every request to it waits, from now.
      if (res.status === 429 || res.status === 503) this.retry.pause(host, wait);
      await res.body.dump().catch(() => undefined);
      this.trace(`retry ${req.method} ${redactUrl(req.url)} after ${res.status} in ${wait} ms (attempt ${attempt + 1}/${max})`);
      await backoff(wait, req.signal);
    }
  }

  /**
   * One exchange, following redirects of a GET or HEAD when asked: at most MAX_REDIRECTS hops,
   * credentials only to the origin first asked, never from https down to http.
   */
  private async follow(req: SendOptions): Promise<HttpResponse> {
    const origin = new URL(req.url).origin;
    let url = req.url;
    let method = req.method;
    for (let hop = 0; ; hop++) {
      const headers = new URL(url).origin === origin ? req.headers : withoutCredentials(req.headers);
      const res = await this.once({ ...req, method, url, headers });
      res.url = req.url;
      const location = header(res.headers, 'location');
      if (!req.followRedirects || !REDIRECT_STATUS.has(res.status) || !location || (method !== 'GET' && method !== 'HEAD')) return res;
      await res.body.dump().catch(() => undefined);
      const next = new URL(location, url);
      if (hop + 1 > MAX_REDIRECTS) {
        throw new AcrImportError('integrity', `${req.method} ${redactUrl(req.url)} was redirected more than ${MAX_REDIRECTS} times; giving up.`);
      }
      if (new URL(url).protocol === 'https:' && next.protocol !== 'https:') {
        throw new AcrImportError('integrity', `${req.method} ${redactUrl(req.url)} was redirected from https to ${next.protocol.replace(':', '')} (${redactUrl(next.toString())}); refusing the downgrade.`);
      }
      this.trace(`redirect ${res.status} ${redactUrl(url)} → ${redactUrl(next.toString())}`);
      url = next.toString();
      if (res.status === 303 && method !== 'HEAD') method = 'GET';
    }
  }

  private async once(req: SendOptions): Promise<HttpResponse> {
    const started = Date.now();
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'acr-import', ...req.headers };
    if (this.options.debug) {
      this.trace(`→ ${req.method} ${redactUrl(req.url)}`);
      for (const [k, v] of Object.entries(headers)) this.trace(`  ${k}: ${redactHeader(k, v)}`);
    }
    const r = await request(req.url, {
      method: req.method,
      headers,
      body: req.body?.(),
      dispatcher: this.direct,
      signal: req.signal,
      // undici closes the connection after every HEAD (a guard against servers that send a body
      // with it), so each blob or manifest HEAD cost a new connection (a TLS handshake on a real
      // registry) for the request after it. Registries answer HEAD correctly: keep it open.
      reset: req.method === 'HEAD' ? false : undefined,
    });
    const res: HttpResponse = { status: r.statusCode, headers: r.headers as ResponseHeaders, body: r.body, url: req.url, finalUrl: req.url };
    if (this.options.debug) {
      this.trace(`← ${res.status} ${req.method} ${redactUrl(req.url)} (${Date.now() - started} ms)`);
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) this.trace(`  ${k}: ${k === 'location' ? redactUrl(String(v)) : redactHeader(k, Array.isArray(v) ? v.join(', ') : v)}`);
      }
    }
    for (const o of this.observers) o.onResponse?.(req, res);
    return res;
  }

  private trace(line: string): void {
    this.options.debug?.(line);
  }

  /** Connection-level failures as typed errors that say which registry and what to try. */
  networkError(err: unknown, req: SendOptions): unknown {
    if (err instanceof AcrImportError) return err;
    const refused = proxyRefusal(err, req.url);
    if (refused && !req.signal?.aborted) return refused;
    if ((err as { name?: string })?.name === 'AbortError' || req.signal?.aborted) {
      return new AcrImportError('interrupted', 'Interrupted.', { cause: err });
    }
    const url = new URL(req.url);
    const code = errorCode(err) ?? '';
    const what = `${req.method} ${redactUrl(`${url.origin}${url.pathname}`)}`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return new AcrImportError('network', `Cannot resolve registry host '${url.hostname}' (${code}) for ${what}.`, {
        hint: 'Check the registry name for typos, and your DNS or proxy settings (HTTPS_PROXY, NO_PROXY).',
        cause: err,
      });
    }
    if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
      return new AcrImportError('network', `Cannot connect to registry ${url.host} (${code}) for ${what}.`, {
        hint: 'Is the registry running and reachable from here? Check the host, port and any firewall or proxy.',
        cause: err,
      });
    }
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL|ERR_SSL/i.test(code) || /certificate/i.test(String((err as Error)?.message))) {
      return new AcrImportError('network', `TLS failure talking to ${url.host}: ${(err as Error).message} (${code}).`, {
        hint: `For a registry with a private CA, point NODE_EXTRA_CA_CERTS at the CA file; for a self-signed certificate, --skip-tls-verify ${url.host}; for a plain-http registry, --insecure-registry.`,
        cause: err,
      });
    }
    if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
      return new AcrImportError('network', `Protocol error talking to ${url.host}: is it serving plain http?`, { cause: err });
    }
    if (isRetryable(err)) {
      return new AcrImportError('transient', `Connection to ${url.host} failed for ${what}: ${(err as Error).message}${code ? ` (${code})` : ''}, after ${this.retry.options.maxAttempts} attempts.`, { cause: err });
    }
    return err;
  }
}

/**
 * The TLS connector: verification is skipped for the hosts named in skipTlsVerify and no other,
 * decided per connection, so a redirect from such a registry to another host is verified.
 */
function connector(options: TransportOptions): BuildConnector.BuildOptions | BuildConnector.connector | undefined {
  const base = options.ca ? { ca: options.ca } : {};
  const skip = new Set((options.skipTlsVerify ?? []).map((h) => h.toLowerCase()));
  if (!skip.size) return options.ca ? base : undefined;
  const verified = buildConnector(base);
  const unverified = buildConnector({ ...base, rejectUnauthorized: false });
  return (opts, callback) => {
    const host = opts.hostname.toLowerCase();
    const named = skip.has(host) || skip.has(`${host}:${opts.port || (opts.protocol === 'https:' ? '443' : '80')}`);
    (named ? unverified : verified)(opts, callback);
  };
}

function withoutCredentials(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!headers) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.includes(k.toLowerCase())));
}

/**
 * A proxy that refuses CONNECT: undici reports it as a RequestAbortedError ("Proxy response (407)
 * !== 200 when HTTP Tunneling"), which reads like Ctrl-C. It is a network error naming the proxy.
 */
function proxyRefusal(err: unknown, url: string): AcrImportError | undefined {
  const m = /Proxy response \((\d+)\)/.exec(String((err as Error)?.message));
  if (!m) return undefined;
  const proxy = proxyFor(url);
  const status = Number(m[1]);
  return new AcrImportError('network', `The proxy${proxy ? ` ${proxy}` : ''} refused to connect to ${new URL(url).host} (HTTP ${status}${status === 407 ? ' Proxy Authentication Required' : status === 403 ? ' Forbidden' : ''}).`, {
    hint: status === 407
      ? 'Give the proxy credentials in its URL (HTTPS_PROXY=http://user:password@host:port), or add the registry to NO_PROXY.'
      : 'Ask for the registry to be allowed through the proxy, or add it to NO_PROXY.',
    cause: err,
  });
}

/** The proxy undici uses for `url`, as host:port (never its credentials). */
function proxyFor(url: string): string | undefined {
  const env = process.env;
  const raw = new URL(url).protocol === 'https:' ? (env.https_proxy ?? env.HTTPS_PROXY) : (env.http_proxy ?? env.HTTP_PROXY);
  if (!raw) return undefined;
  try {
    return new URL(raw).host;
  } catch {
    return undefined;
  }
}
