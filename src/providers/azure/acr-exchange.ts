// ACR sign-in with Entra ID: an Entra access token is exchanged at `/oauth2/exchange` for an ACR
// refresh token, which the authenticator then trades for access tokens per scope at
// `/oauth2/token`. The refresh token is cached and renewed before its JWT `exp` (ACR's last
// about three hours), or at once when the authenticator says it was refused (`forceNew`).
import { AcrImportError } from '../../errors.js';
import type { RefreshTokenSource } from '../../auth/authenticator.js';
import type { BearerChallenge } from '../../auth/token-service.js';
import { jwtExpiry } from '../../auth/jwt.js';
import { readCapped } from '../../transport/read-capped.js';
import { isLoopbackHost } from '../../oci/reference.js';
import type { Transport } from '../../transport/http.js';
import { redactText } from '../../transport/redact.js';
import { sanitize } from '../../text/sanitize.js';
import { firewallRefusal } from '../../auth/acr-refusals.js';
import { tenantOf, type EntraToken, type EntraTokens } from './entra.js';

/** Where the Entra access token comes from: the shared cache, or a fixed token given as a password. */
export interface EntraTokenProvider {
  readonly description: string;
  token(options: { forceRefresh?: boolean; signal?: AbortSignal; what?: string }): Promise<EntraToken>;
  /** False for a fixed token: asking again gives the same token. */
  readonly renewable: boolean;
  /** After a refusal: moves on to the next audience and names its scope, or undefined when there is none. */
  nextAudience?(): string | undefined;
}

/**
 * Tokens from the shared cache for the first scope; a registry that refuses them is asked with the
 * next (ACR's audience, then the cloud's ARM audience, which ACR accepts unless it was turned off).
 */
export function cachedEntraProvider(tokens: EntraTokens, ...scopes: [string, ...string[]]): EntraTokenProvider {
  let current = 0;
  return {
    description: tokens.description,
    renewable: true,
    token: (o) => tokens.getToken(scopes[current]!, o),
    nextAudience: () => (current + 1 < scopes.length ? scopes[++current] : undefined),
  };
}

export function fixedEntraProvider(token: string, description = 'an Entra ID access token'): EntraTokenProvider {
  const t: EntraToken = { token, expiresOnTimestamp: jwtExpiry(token) ?? Date.now() + 60 * 60_000, tenantId: tenantOf(token) };
  return { description, renewable: false, token: async () => t };
}

interface CachedRefresh {
  token: string;
  renewAt: number;
}

/** When a refresh token has no readable `exp`, keep it this long (it is renewed on a 401 anyway). */
const UNKNOWN_LIFETIME_MS = 60 * 60_000;

export class AcrExchangeSource implements RefreshTokenSource {
  readonly description: string;
  private cached?: Promise<CachedRefresh>;
  /** Exchanges made (tests and --debug read it). */
  exchanges = 0;

  constructor(
    private readonly transport: Transport,
    private readonly entra: EntraTokenProvider,
    private readonly options: { signal?: AbortSignal; debug?: (line: string) => void } = {},
  ) {
    this.description = entra.description;
  }

  async refreshToken(ctx: { challenge: BearerChallenge; baseUrl: string; registry: string; forceNew: boolean }): Promise<string> {
    const current = this.cached;
    if (current && !ctx.forceNew) {
      const c = await current.catch(() => undefined);
      if (c && Date.now() < c.renewAt) return c.token;
      if (this.cached !== current && this.cached) return (await this.cached).token;
    }
    const next = this.exchange(ctx, ctx.forceNew);
    this.cached = next;
    next.catch(() => {
      if (this.cached === next) this.cached = undefined;
    });
    return (await next).token;
  }

  private async exchange(ctx: { challenge: BearerChallenge; baseUrl: string; registry: string }, forceNew: boolean): Promise<CachedRefresh> {
    const url = exchangeUrl(ctx.baseUrl, ctx.registry);
    const service = ctx.challenge.service ?? new URL(ctx.baseUrl).host;
    const what = `signing in to ${ctx.registry}`;
    // After a refused refresh token, a renewable Entra token is renewed as well: it may be the cause.
    let entra = await this.entra.token({ forceRefresh: forceNew && this.entra.renewable, signal: this.options.signal, what });
    let res = await this.post(url, service, entra);
    if ((res.status === 401 || res.status === 403) && this.entra.renewable && !forceNew) {
      await res.body.dump().catch(() => undefined);
      entra = await this.entra.token({ forceRefresh: true, signal: this.options.signal, what });
      res = await this.post(url, service, entra);
    }
    if (res.status === 401 || res.status === 403) {
      const next = await this.withNextAudience(url, service, what);
      if (next) {
        await res.body.dump().catch(() => undefined);
        ({ entra, res } = next);
      }
    }
    const text = (await readCapped(res, 1024 * 1024)).toString('utf8');
    const detail = errorDetail(text);
    const firewall = res.status === 401 || res.status === 403 ? firewallRefusal({ status: res.status, detail: '', body: text.slice(0, 2000), registry: ctx.registry, what: 'POST /oauth2/exchange' }) : undefined;
    if (firewall) throw new AcrImportError(firewall.kind, firewall.message, { hint: firewall.hint });
    if (res.status === 401 || res.status === 403) {
      throw new AcrImportError('auth', `${ctx.registry} refused the Entra ID token from ${this.entra.description} at /oauth2/exchange (HTTP ${res.status}${detail ? `: ${detail}` : ''}).`, {
        hint: `The identity needs a role on the registry (AcrPull to read, AcrPush to write), in the registry's tenant${entra.tenantId ? ` (the token is from tenant ${entra.tenantId})` : ''}.`,
      });
    }
    if (res.status === 404 || res.status === 405) {
      throw new AcrImportError('auth', `${ctx.registry} has no ACR token exchange (POST ${new URL(url).pathname} answered HTTP ${res.status}): it does not take Entra ID sign-in.`, {
        hint: 'Give registry credentials (--username/--password), or set --source-auth-mode/--target-auth-mode docker.',
      });
    }
    if (res.status < 200 || res.status >= 300) {
      throw new AcrImportError(res.status === 429 || res.status >= 500 ? 'transient' : 'auth', `${ctx.registry} answered the Entra ID token exchange with HTTP ${res.status}${detail ? ` (${detail})` : ''}.`);
    }
    let token: unknown;
    try {
      token = (JSON.parse(text) as { refresh_token?: unknown }).refresh_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || !token) throw new AcrImportError('auth', `${ctx.registry} answered the Entra ID token exchange without a refresh token.`);
    this.exchanges++;
    const now = Date.now();
    const exp = jwtExpiry(token) ?? now + UNKNOWN_LIFETIME_MS;
    const margin = Math.min(5 * 60_000, Math.max(0, (exp - now) / 4));
    this.options.debug?.(`exchanged an Entra ID token for an ACR refresh token at ${url} (valid ${Math.round((exp - now) / 1000)} s)`);
    return { token, renewAt: exp - margin };
  }

  /** The exchange again with a token for the next audience, when the provider has one. */
  private async withNextAudience(url: string, service: string, what: string) {
    const scope = this.entra.nextAudience?.();
    if (!scope) return undefined;
    this.options.debug?.(`${url} refused the Entra ID token; trying one for ${scope}`);
    const entra = await this.entra.token({ signal: this.options.signal, what });
    return { entra, res: await this.post(url, service, entra) };
  }

  private post(url: string, service: string, entra: EntraToken) {
    const form = new URLSearchParams({ grant_type: 'access_token', service });
    if (entra.tenantId) form.set('tenant', entra.tenantId);
    form.set('access_token', entra.token);
    return this.transport.send({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: () => form.toString(),
      signal: this.options.signal,
    });
  }
}

/**
 * `/oauth2/exchange` on the registry's own origin, never next to a realm it names: the Entra ID
 * token is good for every registry the identity can reach, so it goes only to the host it was
 * chosen for, and only over https (a loopback registry excepted: it never leaves the machine).
 */
export function exchangeUrl(baseUrl: string, registry: string): string {
  const base = new URL(baseUrl);
  if (base.protocol !== 'https:' && !isLoopbackHost(base.host)) {
    throw new AcrImportError('auth', `${registry} is reached over plain http; an Entra ID token is exchanged only over https.`, {
      hint: 'Reach the registry over https, or give registry credentials with another auth mode.',
    });
  }
  return `${base.origin}/oauth2/exchange`;
}

function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[]; error?: string; error_description?: string; message?: string };
    const first = body.errors?.[0];
    const s = first ? [first.code, first.message].filter(Boolean).join(': ') : [body.error, body.error_description ?? body.message].filter(Boolean).join(': ');
    return sanitize(redactText(s));
  } catch {
    return sanitize(redactText(text.trim()), 200);
  }
}
