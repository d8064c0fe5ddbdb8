// One registry's authentication: learns the challenge from the first 401 (or a `GET /v2/` made
// anyway), then hands out an Authorization header per scope set, from a cache renewed before
// tokens expire. The registry client above never sees credentials, only header values.
import { AcrImportError } from '../errors.js';
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

/** A credential the registry's challenge decides: Entra ID for an ACR, something else otherwise. */
export interface ChallengeDecidedCredential {
  kind: 'by-challenge';
  description: string;
  decide(acr: boolean): ChosenCredential;
}

export type ChosenCredential = Credential | { kind: 'exchange'; source: RefreshTokenSource };
export type AuthCredential = ChosenCredential | ChallengeDecidedCredential;

/** ACR's challenge: a Bearer realm at `/oauth2/token` on the registry's own origin. */
export function isAcrChallenge(challenge: Challenge | null | undefined, baseUrl: string): boolean {
  const realm = challenge?.scheme === 'bearer' ? challenge.params.realm : undefined;
  if (!realm) return false;
  try {
    const r = new URL(realm);
    return r.origin === new URL(baseUrl).origin && /^\/oauth2\/token\/?$/.test(r.pathname);
  } catch {
    return false;
  }
}

export function describeCredential(c: AuthCredential): string {
  switch (c.kind) {
    case 'by-challenge':
      return c.description;
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

  private chosen?: ChosenCredential;

  /** The credential in use; one the challenge decides counts as anonymous until the registry has asked. */
  get credential(): ChosenCredential {
    if (this.given.kind !== 'by-challenge') return this.given;
    return this.chosen ?? { kind: 'anonymous' };
  }

  /** Learns what the registry asked for, and lets it decide a credential that waits on that. */
  private learn(challenge: Challenge | null): void {
    this.challenge = challenge;
    if (this.given.kind === 'by-challenge' && !this.chosen) this.chosen = this.given.decide(isAcrChallenge(challenge, this.baseUrl));
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
      throw new AcrImportError('auth', `${this.registry} asks for an unsupported authentication scheme '${challenge.scheme}'.`);
    }
    // A bare access token is used as it is; there is no token service round trip to make.
    if (this.credential.kind === 'access-token') return `Bearer ${this.credential.token}`;
    const token = await this.token(scopes, { realm: challenge.params.realm, service: challenge.params.service });
    return `Bearer ${token.token}`;
  }

  /**
   * After a 401: the first one tells the challenge; a later one means a token expired or was
   * revoked, so cached tokens for these scopes are dropped (and a refresh token renewed). Returns
   * the header to send the request again with; called once per request.
   */
  async reauthorize(scopes: string[], wwwAuthenticate: string | string[] | undefined): Promise<string | undefined> {
    const known = Boolean(this.challenge);
    const fresh = pickChallenge(parseChallenges(wwwAuthenticate));
    if (!fresh) throw new AcrImportError('auth', `${this.registry} answered 401 without a usable WWW-Authenticate challenge.`);
    this.learn(fresh);
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
    if (res.status === 401) this.learn(pickChallenge(res.challenges) ?? null);
    else if (res.status >= 200 && res.status < 300) this.learn(null);
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
      case 'exchange': {
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
      case 'access-token':
        throw new Error('unreachable: access tokens are used directly');
    }
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
