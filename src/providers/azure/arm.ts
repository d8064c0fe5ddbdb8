// Azure Resource Manager calls acr-import makes: read a registry, list registries (and
// subscriptions), and importImage with its long-running operation. Every request goes through
// the shared Transport (proxies, --debug trace, retries) with an Entra ID token for ARM.
import { setTimeout as sleep } from 'node:timers/promises';
import { AcrImportError, type ErrorKind } from '../../errors.js';
import { readCapped } from '../../transport/read-capped.js';
import { header, type HttpResponse, type Transport } from '../../transport/http.js';
import { parseRetryAfter } from '../../transport/retry.js';
import { redactText } from '../../transport/redact.js';

export const REGISTRY_API_VERSION = '2025-04-01';
const SUBSCRIPTIONS_API_VERSION = '2022-12-01';

export interface ArmRegistry {
  id: string;
  name: string;
  location?: string;
  properties?: { loginServer?: string; [k: string]: unknown };
}

export interface RegistryResourceId {
  subscription: string;
  resourceGroup: string;
  name: string;
  /** As given, normalised to start with a slash and without a trailing one. */
  id: string;
}

const RESOURCE_ID = /^\/?subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)\/?$/i;

/** `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}`, or undefined. */
export function parseRegistryResourceId(value: string): RegistryResourceId | undefined {
  const m = RESOURCE_ID.exec(value.trim());
  if (!m) return undefined;
  return { subscription: m[1]!, resourceGroup: m[2]!, name: m[3]!, id: `/${value.trim().replace(/^\/+/, '').replace(/\/+$/, '')}` };
}

export function looksLikeResourceId(value: string): boolean {
  return /^\/?subscriptions\//i.test(value.trim());
}

export function registryResourceId(subscription: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${name}`;
}

export interface ArmResponse {
  status: number;
  headers: HttpResponse['headers'];
  text: string;
  json?: unknown;
}

export class ArmClient {
  constructor(
    private readonly transport: Transport,
    /** `https://management.azure.com` (no trailing slash). */
    readonly endpoint: string,
    /** An ARM bearer token, renewed by the caller's cache. */
    private readonly token: () => Promise<string>,
    private readonly signal?: AbortSignal,
  ) {}

  /** Sends one request; the response body is read (ARM answers are small JSON). */
  async send(method: 'GET' | 'POST', pathOrUrl: string, body?: unknown, options: { retry?: boolean; signal?: AbortSignal } = {}): Promise<ArmResponse> {
    const url = this.url(pathOrUrl);
    const headers: Record<string, string> = { authorization: `Bearer ${await this.token()}`, accept: 'application/json' };
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const res = await this.transport.send({
      method,
      url,
      headers,
      body: payload === undefined ? undefined : () => payload,
      retry: options.retry,
      signal: options.signal ?? this.signal,
    });
    const text = (await readCapped(res, 8 * 1024 * 1024)).toString('utf8');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /** GET, and an error unless 2xx. */
  async get<T>(pathOrUrl: string, what: string, signal?: AbortSignal): Promise<T> {
    const res = await this.send('GET', pathOrUrl, undefined, { signal });
    if (res.status < 200 || res.status >= 300) throw armError(res, what);
    return res.json as T;
  }

  getRegistry(id: string, signal?: AbortSignal): Promise<ArmRegistry> {
    return this.get<ArmRegistry>(`${id}?api-version=${REGISTRY_API_VERSION}`, `reading registry ${id}`, signal);
  }

  /** Every registry in a subscription, following `nextLink`. */
  async listRegistries(subscription: string, signal?: AbortSignal): Promise<ArmRegistry[]> {
    const out: ArmRegistry[] = [];
    let next: string | undefined = `/subscriptions/${encodeURIComponent(subscription)}/providers/Microsoft.ContainerRegistry/registries?api-version=${REGISTRY_API_VERSION}`;
    for (let page = 0; next && page < 1000; page++) {
      const body: { value?: ArmRegistry[]; nextLink?: string } = await this.get(next, `listing the registries of subscription ${subscription}`, signal);
      out.push(...(body?.value ?? []));
      next = body?.nextLink || undefined;
    }
    return out;
  }

  /** Subscription IDs the identity can see (enabled ones), following `nextLink`. */
  async listSubscriptions(signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = `/subscriptions?api-version=${SUBSCRIPTIONS_API_VERSION}`;
    for (let page = 0; next && page < 100; page++) {
      const body: { value?: { subscriptionId?: string; state?: string }[]; nextLink?: string } = await this.get(next, 'listing subscriptions', signal);
      for (const s of body?.value ?? []) if (s.subscriptionId && (!s.state || s.state === 'Enabled')) out.push(s.subscriptionId);
      next = body?.nextLink || undefined;
    }
    return out;
  }

  /**
   * Polls a long-running operation (Azure-AsyncOperation preferred, else Location) until it ends,
   * honouring Retry-After. Resolves on success; throws the operation's error on failure.
   */
  async waitForOperation(accepted: ArmResponse, what: string, options: { defaultIntervalMs?: number; onPoll?: (status: string) => void } = {}): Promise<ArmResponse> {
    const asyncUrl = header(accepted.headers, 'azure-asyncoperation');
    const location = header(accepted.headers, 'location');
    const url = asyncUrl ?? location;
    if (!url) throw new AcrImportError('integrity', `ARM accepted ${what} (HTTP ${accepted.status}) without a Location or Azure-AsyncOperation header to follow.`);
    const mode = asyncUrl ? 'async' : 'location';
    let wait = retryAfterMs(accepted) ?? options.defaultIntervalMs ?? 5000;
    for (;;) {
      await sleep(wait, undefined, { signal: this.signal });
      const res = await this.send('GET', url);
      wait = retryAfterMs(res) ?? options.defaultIntervalMs ?? 5000;
      if (res.status === 202) {
        options.onPoll?.('InProgress');
        continue;
      }
      if (res.status < 200 || res.status >= 300) throw armError(res, what);
      const status = (res.json as { status?: unknown } | undefined)?.status;
      if (mode === 'location' && typeof status !== 'string') return res;
      if (typeof status !== 'string') throw new AcrImportError('integrity', `The operation status of ${what} has no 'status' field.`);
      options.onPoll?.(status);
      if (/^succeeded$/i.test(status)) return res;
      if (/^(failed|canceled|cancelled)$/i.test(status)) throw armError(res, what, status);
    }
  }

  private url(pathOrUrl: string): string {
    if (pathOrUrl.startsWith('/')) return `${this.endpoint}${pathOrUrl}`;
    // nextLink and operation URLs come back absolute: the ARM token only goes to ARM itself.
    const u = new URL(pathOrUrl);
    if (u.origin !== new URL(this.endpoint).origin) {
      throw new AcrImportError('integrity', `ARM pointed at ${u.origin}, not ${new URL(this.endpoint).origin}; refusing to send the ARM token there.`);
    }
    return pathOrUrl;
  }
}

function retryAfterMs(res: ArmResponse): number | undefined {
  const ms = parseRetryAfter(header(res.headers, 'retry-after'));
  return ms === undefined ? undefined : Math.min(Math.max(ms, 100), 60_000);
}

/** An ARM error body (`{"error":{"code","message"}}`) as a typed error. */
export function armError(res: ArmResponse, what: string, status?: string): AcrImportError {
  const body = res.json as { error?: { code?: string; message?: string }; code?: string; message?: string } | undefined;
  const code = body?.error?.code ?? body?.code;
  const message = body?.error?.message ?? body?.message ?? (body ? '' : res.text.trim().slice(0, 300));
  const kind = armErrorKind(res.status, code, message);
  const detail = [code, message].filter(Boolean).join(': ');
  const text = `${status ? `${what} ${status.toLowerCase()}` : `ARM answered HTTP ${res.status} to ${what}`}${detail ? `: ${redactText(detail)}` : ''}.`;
  const hint = {
    auth: 'The signed-in identity needs a role on the registry: Reader to look it up, Contributor (or a role with Microsoft.ContainerRegistry/registries/importImage/action) to import.',
    conflict: 'Use --force to overwrite existing target tags.',
    'not-found': 'Check the subscription, resource group, registry name and source image.',
  }[kind as string];
  return new AcrImportError(kind, text.charAt(0).toUpperCase() + text.slice(1), { hint });
}

export function armErrorKind(status: number, code: string | undefined, message: string | undefined): ErrorKind {
  const c = code ?? '';
  const m = message ?? '';
  if (/already exists/i.test(m) || /^Conflict$/i.test(c)) return 'conflict';
  if (status === 401 || status === 403 || /Authori[sz]ation|Unauthori[sz]ed|Forbidden|InvalidAuthenticationToken|AuthenticationFailed/i.test(c) || /unauthori[sz]ed|access (is )?denied|authentication required/i.test(m)) return 'auth';
  if (status === 404 || /NotFound|MANIFEST_UNKNOWN|NAME_UNKNOWN/i.test(c) || /not found|does not exist|manifest unknown/i.test(m)) return 'not-found';
  if (/quota|limit/i.test(c) || /exceed|too many manifests|limit of/i.test(m)) return 'limit';
  if (status === 429 || status >= 500 || /TooManyRequests|InternalServerError|ServiceUnavailable|GatewayTimeout|Timeout|RetryableError/i.test(c)) return 'transient';
  if (status === 400 || /Invalid|BadRequest/i.test(c)) return 'usage';
  return 'internal';
}
