// One registry's authentication: learns the challenge from the first 401 (or a `GET /v2/` made
// anyway), then hands out an Authorization header per scope set, from a cache renewed before
// tokens expire. The registry client above never sees credentials, only header values.
import { AcrImportError } from '../errors.js';
import { isLoopbackHost } from '../oci/reference.js';
import { sanitize } from '../text/sanitize.js';
import type { Transport } from '../transport/http.js';
import { peekPing, pingRegistry, type PingResult } from './ping.js';
import { parseChallenges, type Challenge } from './challenge.js';
import type { Credential } from './docker-config.js';
import { getToken, postToken, type BearerChallenge, type IssuedToken } from './token-service.js';

/**
 * The seam for sign-in schemes that produce a refresh token on demand, such as exchanging an
 * Entra ID token at ACR's /oauth2/exchange. Called again when a refresh token is refused.
 */
export interface RefreshTokenSource {
  /** Said in messages: "Entra ID (DefaultAzureCredential)". Never a secret. */
  readonly description: string;
  refreshToken(ctx: { challenge: BearerChallenge; baseUrl: string; registry: string; forceNew: boolean }): Promise<string>;
}

/**
 * Entra ID exchanged for an ACR refresh token. `orAnonymous`, for an ACR source signed in to by
 * default, falls back to anonymous pull when Entra ID is unavailable or the exchange is refused
 * (a registry in another tenant, or with anonymous pull), as `az acr import` reads such sources
 * anonymously; it is told what was tried.
 */
export interface ExchangeCredential {
  kind: 'exchange';
  source: RefreshTokenSource;
  orAnonymous?: (tried: string) => void;
}

export type AuthCredential = Credential | ExchangeCredential;

export function describeCredential(c: AuthCredential): string {
  switch (c.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'basic':
      return `user ${c.username}`;
    case 'refresh-token':
      return 'a refresh token';
    case 'access-token':
      return 'an access token';
    case 'exchange':
      return c.source.description;
  }
}

/** Renew this long before expiry: a quarter of the lifetime, at most a minute. */
function renewMargin(t: IssuedToken): number {
  return Math.min(60_000, t.lifetimeMs / 4);
}

export class RegistryAuthenticator {
  /**
   * What the registry asked for: undefined until it has said (a 401's WWW-Authenticate, or the
   * answer to a `GET /v2/` someone made); null when it needs nothing.
   */
  private challenge: Challenge | null | undefined;
  private readonly tokens = new Map<string, Promise<IssuedToken>>();

  constructor(
    private readonly transport: Transport,
    /** May turn from http:// to https:// when a loopback registry turns out to serve TLS. */
    public baseUrl: string,
    /** The registry as users name it, for messages. */
    readonly registry: string,
    private readonly given: AuthCredential,
  ) {}

  /** Set when an ACR source fell back to anonymous pull: what the Entra ID sign-in said. */
  private fellBack?: string;

  /** The credential in use: anonymous once an Entra ID sign-in fell back to it. */
  get credential(): AuthCredential {
    return this.fellBack !== undefined ? { kind: 'anonymous' } : this.given;
  }

  /**
   * The Authorization header for a request needing `scopes`, or undefined when none is needed.
   * Until the registry has asked for credentials, requests go without: the first one's 401
   * carries the challenge (no separate `GET /v2/`, so an unchanged image costs HEADs only).
   */
  async authorization(scopes: string[]): Promise<string | undefined> {
    if (this.challenge === undefined) {
      const pinged = peekPing(this.transport, this.baseUrl);
      if (pinged) this.adopt(await pinged.catch(() => undefined));
    }
    const challenge = this.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      if (this.credential.kind === 'basic') return basicHeader(this.credential);
      if (this.credential.kind === 'anonymous') return undefined;
      throw new AcrImportError('auth', `${this.registry} asks for a username and password (Basic), but ${describeCredential(this.credential)} was given.`);
    }
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) {
      throw new AcrImportError('auth', `${this.registry} asks for an unsupported authentication scheme '${sanitize(challenge.scheme)}'.`);
    }
    // A bare access token is used as it is; there is no token service round trip to make.
    if (this.credential.kind === 'access-token') return `Bearer ${this.credential.token}`;
    checkRealm(challenge.params.realm, this.baseUrl, this.registry, this.credential.kind !== 'anonymous');
    const token = await this.token(scopes, { realm: challenge.params.realm, service: challenge.params.service });
    return `Bearer ${token.token}`;
  }

  /**
   * After a 401: the first one tells the challenge; a later one means a token expired or was
   * revoked, so cached tokens for these scopes are dropped (and a refresh token renewed). Returns
   * the header to send the request again with; called once per request. `from` is the URL that
   * answered: a 401 from another origin (a redirect hop, a blob store) is that hop's refusal, not
   * the registry's challenge, and nothing is sent to the realm it names.
   */
  async reauthorize(scopes: string[], wwwAuthenticate: string | string[] | undefined, from?: string): Promise<string | undefined> {
    if (from && !sameOrigin(from, this.baseUrl)) {
      throw new AcrImportError('auth', `${sanitize(originOf(from))}, another origin than ${this.registry}'s (a redirect hop or an upload location), answered HTTP 401; credentials for ${this.registry} are not sent there.`, {
        hint: 'The registry sent the request to a server that wants its own sign-in; ask the registry\'s operator, or check for a proxy rewriting redirects.',
      });
    }
    const known = Boolean(this.challenge);
    const fresh = pickChallenge(parseChallenges(wwwAuthenticate));
    if (!fresh) throw new AcrImportError('auth', `${this.registry} answered 401 without a usable WWW-Authenticate challenge.`);
    this.challenge = fresh;
    if (known) {
      this.tokens.delete(scopeKey(scopes));
      this.forceNewRefresh = true;
    }
    return this.authorization(scopes);
  }

  /**
   * A loopback registry is reached over http first; when a request gets a 400 it may be serving
   * TLS, which `GET /v2/` tells. True when the base URL changed to https.
   */
  async switchToTls(): Promise<boolean> {
    if (!this.baseUrl.startsWith('http://')) return false;
    // Its failure (an untrusted certificate, say) is the error to report.
    const res = await pingRegistry(this.transport, this.baseUrl);
    if (res.baseUrl === this.baseUrl) return false;
    this.adopt(res);
    return true;
  }

  private forceNewRefresh = false;

  private adopt(res: PingResult | undefined): void {
    if (!res) return;
    this.baseUrl = res.baseUrl;
    if (res.status === 401) this.challenge = pickChallenge(res.challenges) ?? null;
    else if (res.status >= 200 && res.status < 300) this.challenge = null;
  }

  private token(scopes: string[], challenge: BearerChallenge): Promise<IssuedToken> {
    const key = scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached) {
      return cached.then((t) => (Date.now() < t.expiresAt - renewMargin(t) ? t : this.renew(key, scopes, challenge, cached)));
    }
    return this.renew(key, scopes, challenge, undefined);
  }

  // Several concurrent callers share one request: whoever finds the stale entry replaces it once.
  private renew(key: string, scopes: string[], challenge: BearerChallenge, stale: Promise<IssuedToken> | undefined): Promise<IssuedToken> {
    const current = this.tokens.get(key);
    if (current && current !== stale) return current;
    const next = this.fetchToken(scopes, challenge);
    this.tokens.set(key, next);
    next.catch(() => {
      if (this.tokens.get(key) === next) this.tokens.delete(key);
    });
    return next;
  }

  private async fetchToken(scopes: string[], challenge: BearerChallenge): Promise<IssuedToken> {
    const c = this.credential;
    switch (c.kind) {
      case 'anonymous':
        return getToken(this.transport, challenge, scopes, this.registry);
      case 'basic':
        return getToken(this.transport, challenge, scopes, this.registry, c);
      case 'refresh-token':
        return postToken(this.transport, challenge, scopes, this.registry, { grant_type: 'refresh_token', refresh_token: c.token });
      case 'exchange':
        if (!c.orAnonymous) return this.exchangeToken(c, scopes, challenge);
        try {
          return await this.exchangeToken(c, scopes, challenge);
        } catch (err) {
          if (!(err instanceof AcrImportError) || err.kind !== 'auth') throw err;
          return this.anonymousInstead(c, err, scopes, challenge);
        }
      case 'access-token':
        throw new Error('unreachable: access tokens are used directly');
    }
  }

  private async exchangeToken(c: ExchangeCredential, scopes: string[], challenge: BearerChallenge): Promise<IssuedToken> {
    const forceNew = this.forceNewRefresh;
    this.forceNewRefresh = false;
    const ctx = { challenge, baseUrl: this.baseUrl, registry: this.registry };
    const rt = await c.source.refreshToken({ ...ctx, forceNew });
    try {
      return await postToken(this.transport, challenge, scopes, this.registry, { grant_type: 'refresh_token', refresh_token: rt });
    } catch (err) {
      // A refresh token revoked or expired early: exchange for a new one, once.
      if (forceNew || !(err instanceof AcrImportError) || err.kind !== 'auth') throw err;
      const fresh = await c.source.refreshToken({ ...ctx, forceNew: true });
      return postToken(this.transport, challenge, scopes, this.registry, { grant_type: 'refresh_token', refresh_token: fresh });
    }
  }

  /** Entra ID did not get in: anonymous pull, saying what was tried, and both refusals if that fails too. */
  private async anonymousInstead(c: ExchangeCredential, entraError: AcrImportError, scopes: string[], challenge: BearerChallenge): Promise<IssuedToken> {
    const first = this.fellBack === undefined;
    this.fellBack = entraError.message.split('\n')[0]!;
    if (first) c.orAnonymous?.(`Entra ID sign-in to ${this.registry} did not succeed (${this.fellBack}); trying anonymous pull`);
    try {
      return await getToken(this.transport, challenge, scopes, this.registry);
    } catch (err) {
      if (!(err instanceof AcrImportError) || err.kind !== 'auth') throw err;
      throw new AcrImportError('auth', `Cannot read from ${this.registry}: Entra ID sign-in (${c.source.description}) did not succeed, and anonymous pull was refused too.\nEntra ID: ${this.fellBack}\nAnonymous: ${err.message}`, {
        hint: entraError.hint ?? `Give credentials for ${this.registry} (--username/--password), or sign in with an identity that has AcrPull on it.`,
        cause: err,
      });
    }
  }
}

/**
 * Where a token service may be asked: never over plain http for an https registry (a network
 * attacker would read or forge the token), and with credentials on another host only over https
 * (a loopback token service excepted, as a loopback registry is). The realm is the registry's to
 * name, so this is all that keeps its Basic credentials or refresh token on a safe path.
 */
export function checkRealm(realm: string, baseUrl: string, registry: string, withCredentials: boolean): void {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new AcrImportError('auth', `${registry} names a token realm that is not a URL: '${sanitize(realm)}'.`);
  }
  const base = new URL(baseUrl);
  const shown = sanitize(`${url.origin}${url.pathname}`);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AcrImportError('auth', `${registry} names a token realm that is not http(s): ${shown}.`);
  }
  if (url.protocol === 'http:' && base.protocol === 'https:') {
    throw new AcrImportError('auth', `${registry} is served over https but names a token realm over plain http (${shown}); no token is asked for there.`, {
      hint: 'A registry must name an https token service; this one may be misconfigured or tampered with on the way.',
    });
  }
  if (withCredentials && url.protocol === 'http:' && url.host.toLowerCase() !== base.host.toLowerCase() && !isLoopbackHost(url.host)) {
    throw new AcrImportError('auth', `${registry} names a token realm on another host over plain http (${shown}); credentials for ${registry} are not sent there.`, {
      hint: 'Credentials go to a token service on another host only over https.',
    });
  }
}

function sameOrigin(url: string, baseUrl: string): boolean {
  try {
    return new URL(url).origin === new URL(baseUrl).origin;
  } catch {
    return false;
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic') ?? challenges[0];
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(' ');
}

/** `repository:<name>:<actions>` (distribution token scope). */
export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}
