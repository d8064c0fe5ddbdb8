// Entra ID tokens: DefaultAzureCredential from @azure/identity (loaded only when a token is
// needed: it is heavy), cached per scope and renewed before it expires, since AzureCliCredential
// spawns `az` on every call. A module-level hook lets tests and embedders supply their own
// TokenCredential instead.
import { AcrImportError } from '../../errors.js';
import { redactText } from '../../transport/redact.js';
import { jwtExpiry, jwtTenant } from '../../auth/jwt.js';
import { routeAzureLogger } from '../../transport/library-logs.js';

/** The part of @azure/core-auth's TokenCredential used here (structurally compatible with it). */
export interface TokenCredentialLike {
  getToken(scopes: string | string[], options?: { abortSignal?: AbortSignal; tenantId?: string; claims?: string }): Promise<AccessTokenLike | null>;
}

export interface AccessTokenLike {
  token: string;
  /** Epoch milliseconds. */
  expiresOnTimestamp: number;
  refreshAfterTimestamp?: number;
  tokenType?: 'Bearer' | 'pop';
}

export interface EntraToken {
  token: string;
  expiresOnTimestamp: number;
  /** The `tid` claim, when the token is a JWT that has one. */
  tenantId?: string;
}

let override: { credential: TokenCredentialLike; description: string } | undefined;

/**
 * The seam for Entra sign-in: use this credential instead of DefaultAzureCredential (tests,
 * programs embedding acr-import). `undefined` restores the default.
 */
export function setTokenCredential(credential: TokenCredentialLike | undefined, description = 'Entra ID (supplied credential)'): void {
  override = credential ? { credential, description } : undefined;
}

/**
 * True when Entra sign-in is evidently configured without asking anyone: a service principal,
 * workload identity or a managed-identity endpoint in the environment, or a supplied credential.
 * (`az login` leaves no trace in the environment; its subscription is read elsewhere.)
 */
export function entraEvidentlyConfigured(env: NodeJS.ProcessEnv): boolean {
  if (override) return true;
  if (env.AZURE_CLIENT_ID && env.AZURE_TENANT_ID && (env.AZURE_CLIENT_SECRET || env.AZURE_CLIENT_CERTIFICATE_PATH || env.AZURE_FEDERATED_TOKEN_FILE)) return true;
  if (env.AZURE_USERNAME && env.AZURE_PASSWORD) return true;
  return Boolean(env.IDENTITY_ENDPOINT || env.MSI_ENDPOINT);
}

/** The tenant of an Entra ID token (its `tid` claim). */
export const tenantOf = jwtTenant;

interface Cached {
  token: EntraToken;
  /** Renew at this time (before expiry). */
  renewAt: number;
}

/** Renew a token this long before it expires: a quarter of its lifetime, at most five minutes. */
function renewAt(obtainedAt: number, t: AccessTokenLike): number {
  const margin = Math.min(5 * 60_000, Math.max(0, (t.expiresOnTimestamp - obtainedAt) / 4));
  const at = t.expiresOnTimestamp - margin;
  return t.refreshAfterTimestamp ? Math.min(at, t.refreshAfterTimestamp) : at;
}

/**
 * Entra ID tokens per scope from one credential, cached until shortly before they expire;
 * concurrent callers share one request. Shared by every registry and ARM call of a run.
 */
export class EntraTokens {
  private credential?: Promise<TokenCredentialLike>;
  private readonly cache = new Map<string, Promise<Cached>>();
  /** Tokens obtained from the credential, per scope (tests and --debug read it). */
  readonly issued = new Map<string, number>();

  constructor(
    readonly description: string,
    private readonly create: () => Promise<TokenCredentialLike>,
  ) {}

  /**
   * DefaultAzureCredential signing in at the cloud's authority (a service principal of
   * AzureChinaCloud exists only at login.chinacloudapi.cn), or the credential given to setTokenCredential.
   */
  static fromEnvironment(authority: { authorityHost: string }, env: NodeJS.ProcessEnv): EntraTokens {
    if (override) {
      const c = override.credential;
      return new EntraTokens(override.description, async () => c);
    }
    const authorityHost = defaultCredentialOptions(authority, env).authorityHost;
    const where = authorityHost === 'https://login.microsoftonline.com' ? '' : ` at ${authorityHost.replace(/^https?:\/\//, '')}`;
    return new EntraTokens(`Entra ID (DefaultAzureCredential${where})`, async () => {
      const { DefaultAzureCredential } = await import('@azure/identity');
      await routeAzureLogger();
      return new DefaultAzureCredential(defaultCredentialOptions(authority, env)) as TokenCredentialLike;
    });
  }

  /** A token for one scope (`https://management.azure.com/.default`), from the cache when still fresh. */
  async getToken(scope: string, options: { signal?: AbortSignal; forceRefresh?: boolean; what?: string } = {}): Promise<EntraToken> {
    const cached = this.cache.get(scope);
    if (cached && !options.forceRefresh) {
      const c = await cached.catch(() => undefined);
      if (c && Date.now() < c.renewAt) return c.token;
      // Someone else may already have replaced the stale entry.
      const current = this.cache.get(scope);
      if (current && current !== cached) return (await current).token;
    }
    const next = this.fetch(scope, options);
    this.cache.set(scope, next);
    next.catch(() => {
      if (this.cache.get(scope) === next) this.cache.delete(scope);
    });
    return (await next).token;
  }

  /** This cache as a TokenCredential, for Azure SDK clients (ContainerRegistryClient). */
  asTokenCredential(): TokenCredentialLike {
    return {
      getToken: async (scopes, options) => {
        const scope = Array.isArray(scopes) ? scopes[0]! : scopes;
        const t = await this.getToken(scope, { signal: options?.abortSignal as AbortSignal | undefined });
        return { token: t.token, expiresOnTimestamp: t.expiresOnTimestamp, tokenType: 'Bearer' };
      },
    };
  }

  private async fetch(scope: string, options: { signal?: AbortSignal; what?: string }): Promise<Cached> {
    this.credential ??= this.create();
    const credential = await this.credential;
    const obtainedAt = Date.now();
    let t: AccessTokenLike | null;
    try {
      t = await credential.getToken(scope, { abortSignal: options.signal });
    } catch (err) {
      throw entraError(err, this.description, scope, options.what);
    }
    if (!t?.token) throw entraError(new Error('the credential returned no token'), this.description, scope, options.what);
    this.issued.set(scope, (this.issued.get(scope) ?? 0) + 1);
    return { token: { token: t.token, expiresOnTimestamp: t.expiresOnTimestamp, tenantId: tenantOf(t.token) }, renewAt: renewAt(obtainedAt, t) };
  }
}

/** DefaultAzureCredential's options: the cloud's authority, unless AZURE_AUTHORITY_HOST names another. */
export function defaultCredentialOptions(authority: { authorityHost: string }, env: NodeJS.ProcessEnv): { authorityHost: string } {
  return { authorityHost: (env.AZURE_AUTHORITY_HOST?.trim() || authority.authorityHost).replace(/\/+$/, '') };
}

/** A fixed Entra access token (a password given without a username for an ACR). */
export function staticTokenCredential(token: string): TokenCredentialLike {
  const expiresOnTimestamp = jwtExpiry(token) ?? Date.now() + 60 * 60_000;
  return { getToken: async () => ({ token, expiresOnTimestamp, tokenType: 'Bearer' }) };
}

/** Turns @azure/identity's failures into one auth error that says what to do. */
export function entraError(err: unknown, description: string, scope: string, what?: string): AcrImportError {
  if (err instanceof AcrImportError) return err;
  const e = err as { name?: string; message?: string; errors?: { message?: string }[] };
  if (e?.name === 'AbortError') return new AcrImportError('interrupted', 'Interrupted while signing in with Entra ID.', { cause: err });
  const unavailable = e?.name === 'CredentialUnavailableError' || e?.name === 'AggregateAuthenticationError';
  const detail = firstLines(e?.message ?? String(err));
  const purpose = what ? ` for ${what}` : '';
  if (unavailable) {
    return new AcrImportError('auth', `No Entra ID sign-in is available${purpose} (${description}, scope ${scope}).${detail ? `\n${detail}` : ''}`, {
      hint: 'Sign in with `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET (or use a managed or workload identity); or give registry credentials (--username/--password), or --source-auth-mode anonymous for a registry that allows anonymous pull.',
      cause: err,
    });
  }
  return new AcrImportError('auth', `Entra ID sign-in failed${purpose} (${description}, scope ${scope}): ${detail || 'unknown error'}`, {
    hint: 'Check the Azure sign-in (`az account show`, or the AZURE_* variables) and that it can get tokens for this scope.',
    cause: err,
  });
}

function firstLines(message: string): string {
  return redactText(message)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 4)
    .join('\n')
    .slice(0, 600);
}
