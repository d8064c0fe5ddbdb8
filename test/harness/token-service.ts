/**
 * A Docker-style token service (https://distribution.github.io/distribution/spec/auth/token/)
 * in Node, plus `startTokenRegistry()` wiring it to a real token-auth registry.
 *
 *   GET  /token?service=S&scope=...            anonymous -> pull; Basic testuser:testpass -> pull+push
 *   POST /token  grant_type=password           username/password form (access_type=offline adds refresh_token)
 *   POST /token  grant_type=refresh_token      refresh_token issued here (or configured) -> access_token
 *
 * Every request is recorded (never the secrets) so tests can assert on token traffic.
 */
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import { TokenIssuer, parseScopes, type AccessEntry } from './jwt.js';
import { createSigningCert } from './pki.js';
import { TEST_PASSWORD, TEST_USERNAME, startRegistry, type RunningRegistry, type StartRegistryOptions } from './registry.js';
import { listen, makeTempDir, parseBasicAuth, readBody, removeTempDir, sendJson } from './util.js';

export type CredentialKind = 'anonymous' | 'basic' | 'password' | 'refresh_token' | 'invalid';

export interface TokenRequestRecord {
  time: number;
  method: string;
  /** `GET` requests have no grant type; POST carries the form's grant_type. */
  grantType?: string;
  service?: string;
  /** Scopes exactly as requested (one entry per `scope` parameter). */
  scopes: string[];
  credential: CredentialKind;
  username?: string;
  clientId?: string;
  status: number;
  granted: AccessEntry[];
  /** Whether a refresh token was handed out. */
  issuedRefreshToken: boolean;
}

export interface Identity {
  kind: 'anonymous' | 'user';
  username?: string;
}

export type GrantPolicy = (who: Identity, requested: AccessEntry[]) => AccessEntry[];

export interface TokenServiceOptions {
  /** `iss` claim and registry `auth.token.issuer`. */
  issuer?: string;
  /** Accepted Basic/password users (default testuser/testpass). */
  users?: Record<string, string>;
  /** Access token lifetime (s) and the `expires_in` answered. Default 300. */
  expiresIn?: number;
  /** Refresh tokens accepted in addition to those this service issued. */
  refreshTokens?: string[];
  /** Decide what a caller gets; default: anonymous pull, users pull+push(+catalog). */
  policy?: GrantPolicy;
  port?: number;
}

export interface RunningTokenService {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  /** The realm to configure in the registry: `${url}/token`. */
  realm: string;
  host: string;
  issuer: TokenIssuer;
  /** PEM file for the registry's rootcertbundle. */
  rootCertBundle: string;
  readonly requests: TokenRequestRecord[];
  clear(): void;
  /** Changes the lifetime of tokens minted from now on. */
  setExpiresIn(seconds: number): void;
  acceptRefreshToken(token: string): void;
  /** Mints a token directly (no HTTP), e.g. with push rights for fixtures. */
  mintToken(service: string, access: AccessEntry[], opts?: { ttlSeconds?: number; subject?: string }): string;
  stop(): Promise<void>;
}

export const defaultPolicy: GrantPolicy = (who, requested) => {
  const allowed = who.kind === 'user' ? ['pull', 'push'] : ['pull'];
  const out: AccessEntry[] = [];
  for (const r of requested) {
    if (r.type === 'repository') {
      const actions = r.actions.filter((a) => allowed.includes(a));
      out.push({ type: r.type, name: r.name, actions });
    } else if (r.type === 'registry' && r.name === 'catalog' && who.kind === 'user') {
      out.push({ type: r.type, name: r.name, actions: ['*'] });
    }
  }
  return out;
};

/** Reads the scopes from a query string or form: repeated `scope` params, each possibly space separated. */
export function scopesFrom(params: URLSearchParams): string[] {
  return params.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
}

export async function startTokenService(opts: TokenServiceOptions = {}): Promise<RunningTokenService> {
  const dir = makeTempDir('token-service');
  try {
    const signer = await createSigningCert(dir);
    const issuer = new TokenIssuer(opts.issuer ?? 'acr-import-harness-token-service', signer);
    const users = opts.users ?? { [TEST_USERNAME]: TEST_PASSWORD };
    const policy = opts.policy ?? defaultPolicy;
    let expiresIn = opts.expiresIn ?? 300;
    const refreshTokens = new Map<string, string>(); // token -> username
    for (const t of opts.refreshTokens ?? []) refreshTokens.set(t, TEST_USERNAME);
    const requests: TokenRequestRecord[] = [];

    const server = http.createServer((req, res) => {
      void handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] });
        else res.destroy();
      });
    });

    async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname !== '/token') {
        sendJson(res, 404, { error: 'not found' });
        return;
      }
      const rec: TokenRequestRecord = {
        time: Date.now(),
        method: req.method ?? 'GET',
        scopes: [],
        credential: 'anonymous',
        status: 0,
        granted: [],
        issuedRefreshToken: false,
      };
      requests.push(rec);
      const reply = (status: number, body: unknown) => {
        rec.status = status;
        sendJson(res, status, body, status === 401 ? { 'www-authenticate': 'Basic realm="acr-import-harness-token-service"' } : {});
      };
      const unauthorized = () => reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });

      let params: URLSearchParams;
      let who: Identity = { kind: 'anonymous' };
      let wantRefresh = false;
      if (req.method === 'GET') {
        params = u.searchParams;
        const authz = req.headers.authorization;
        if (authz) {
          const basic = parseBasicAuth(authz);
          rec.credential = 'basic';
          rec.username = basic?.username;
          if (!basic || users[basic.username] !== basic.password) {
            rec.credential = 'invalid';
            rec.scopes = scopesFrom(params);
            rec.service = params.get('service') ?? undefined;
            return unauthorized();
          }
          who = { kind: 'user', username: basic.username };
        }
        wantRefresh = params.get('offline_token') === 'true' && who.kind === 'user';
      } else if (req.method === 'POST') {
        params = new URLSearchParams((await readBody(req)).toString('utf8'));
        rec.grantType = params.get('grant_type') ?? undefined;
        rec.clientId = params.get('client_id') ?? undefined;
        if (rec.grantType === 'password') {
          rec.credential = 'password';
          const username = params.get('username') ?? '';
          rec.username = username;
          if (users[username] === undefined || users[username] !== params.get('password')) {
            rec.credential = 'invalid';
            rec.scopes = scopesFrom(params);
            return unauthorized();
          }
          who = { kind: 'user', username };
          wantRefresh = params.get('access_type') === 'offline';
        } else if (rec.grantType === 'refresh_token') {
          rec.credential = 'refresh_token';
          const owner = refreshTokens.get(params.get('refresh_token') ?? '');
          if (!owner) {
            rec.credential = 'invalid';
            rec.scopes = scopesFrom(params);
            return unauthorized();
          }
          who = { kind: 'user', username: owner };
        } else {
          rec.scopes = scopesFrom(params);
          return reply(400, { error: 'unsupported_grant_type' });
        }
      } else {
        return reply(405, { error: 'method not allowed' });
      }
      rec.scopes = scopesFrom(params);
      rec.service = params.get('service') ?? undefined;
      const granted = policy(who, parseScopes(rec.scopes));
      rec.granted = granted;
      const { token } = issuer.mint({ subject: who.username ?? '', audience: rec.service ?? '', access: granted, ttlSeconds: expiresIn });
      const body: Record<string, unknown> = {
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      };
      if (req.method === 'POST') body.scope = rec.scopes.join(' ');
      if (wantRefresh && who.username) {
        const refresh = `harness-refresh-${randomBytes(16).toString('hex')}`;
        refreshTokens.set(refresh, who.username);
        body.refresh_token = refresh;
        rec.issuedRefreshToken = true;
      }
      reply(200, body);
    }

    const listening = await listen(server, opts.port ?? 0);
    const url = `http://${listening.host}`;
    let stopped: Promise<void> | undefined;
    return {
      url,
      realm: `${url}/token`,
      host: listening.host,
      issuer,
      rootCertBundle: signer.certPath,
      requests,
      clear: () => {
        requests.length = 0;
      },
      setExpiresIn: (s) => {
        expiresIn = s;
      },
      acceptRefreshToken: (t) => {
        refreshTokens.set(t, TEST_USERNAME);
      },
      mintToken: (service, access, o = {}) =>
        issuer.mint({ audience: service, access, ttlSeconds: o.ttlSeconds ?? expiresIn, subject: o.subject ?? TEST_USERNAME }).token,
      stop: () => {
        stopped ??= (async () => {
          await listening.close();
          removeTempDir(dir);
        })();
        return stopped;
      },
    };
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }
}

export interface RunningTokenRegistry extends RunningRegistry {
  /** The registry's token service name (`aud` of its tokens). */
  service: string;
  realm: string;
  tokenService: RunningTokenService;
  credentials: { username: string; password: string };
  /** Mints a bearer token for this registry directly (no HTTP). */
  mintToken(access: AccessEntry[], opts?: { ttlSeconds?: number }): string;
}

/** A token service plus a registry trusting it. stop() stops both. */
export async function startTokenRegistry(
  opts: { tokenService?: TokenServiceOptions; registry?: Omit<StartRegistryOptions, 'auth'> } = {},
): Promise<RunningTokenRegistry> {
  const tokenService = await startTokenService(opts.tokenService);
  try {
    const registry = await startRegistry({
      ...opts.registry,
      auth: { kind: 'token', realm: tokenService.realm, issuer: tokenService.issuer.issuer, rootCertBundle: tokenService.rootCertBundle },
    });
    const service = registry.service ?? registry.host;
    const users = opts.tokenService?.users ?? { [TEST_USERNAME]: TEST_PASSWORD };
    const [first] = Object.entries(users);
    return {
      ...registry,
      service,
      realm: tokenService.realm,
      tokenService,
      credentials: { username: first?.[0] ?? TEST_USERNAME, password: first?.[1] ?? TEST_PASSWORD },
      mintToken: (access, o) => tokenService.mintToken(service, access, o),
      stop: async () => {
        await registry.stop();
        await tokenService.stop();
      },
    };
  } catch (err) {
    await tokenService.stop();
    throw err;
  }
}
