/**
 * An Azure-Container-Registry-like origin: ONE loopback port that
 *  - reverse-proxies /v2/* to a real token-auth Distribution registry whose
 *    realm is `http://<this origin>/oauth2/token` and service `<this origin host>`;
 *  - implements ACR's token endpoints:
 *      POST /oauth2/exchange  grant_type=access_token&service&tenant&access_token
 *                             -> {refresh_token}           (Entra token -> ACR refresh token)
 *      POST /oauth2/token     grant_type=refresh_token&service&scope&refresh_token -> {access_token}
 *      POST /oauth2/token     grant_type=password&service&scope&username&password  -> {access_token}
 *      GET  /oauth2/token?service&scope  (Basic user:pass, or the null GUID with a refresh token)
 *                             -> {access_token}
 *    Like ACR, token answers carry no expires_in: the only expiry is the JWT `exp`.
 *  - keeps legacy OCI artifact manifests (`application/vnd.oci.artifact.manifest.v1+json`, from
 *    the OCI 1.1 drafts) itself, as ACR does for those pushed meanwhile: the Distribution registry
 *    behind it does not know the type. Their blobs live in the registry; a GET whose Accept does
 *    not list the type is answered MANIFEST_UNKNOWN, as Distribution does for OCI types.
 *
 * Distribution honours tokens up to 60 s past `exp`; ACR does not. So that
 * token-renewal tests can use short lifetimes, the origin itself rejects
 * expired bearer tokens (`strictExpiry`, default on) by forwarding the request
 * without Authorization, which yields the registry's own 401 + challenge.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { TokenIssuer, decodeJwt, parseScopes, type AccessEntry } from './jwt.js';
import { forward, makeAgent } from './http-forward.js';
import { createSigningCert } from './pki.js';
import { TEST_PASSWORD, TEST_USERNAME, startRegistry, type RunningRegistry } from './registry.js';
import { scopesFrom } from './token-service.js';
import { listen, makeTempDir, parseBasicAuth, readBody, removeTempDir, sendJson } from './util.js';

export const LEGACY_ARTIFACT_MANIFEST = 'application/vnd.oci.artifact.manifest.v1+json';

/** The username ACR uses with refresh tokens (`az acr login --expose-token`). */
export const ACR_NULL_GUID = '00000000-0000-0000-0000-000000000000';

export type AcrCredentialKind = 'access_token' | 'refresh_token' | 'password' | 'basic' | 'basic_refresh_token' | 'anonymous' | 'invalid';

export interface AcrTokenRequestRecord {
  time: number;
  endpoint: 'exchange' | 'token';
  method: string;
  grantType?: string;
  service?: string;
  tenant?: string;
  scopes: string[];
  credential: AcrCredentialKind;
  username?: string;
  status: number;
  granted: AccessEntry[];
}

export interface AcrOriginOptions {
  /** Entra (AAD) access tokens that /oauth2/exchange accepts. */
  acceptedAccessTokens?: string[];
  /** Refresh tokens accepted without an exchange (null-GUID flow). */
  refreshTokens?: string[];
  /** Admin-user style credentials (default testuser/testpass). */
  users?: Record<string, string>;
  /** Access token lifetime in seconds (JWT exp). Default 300. */
  accessTokenTtl?: number;
  /** Refresh token lifetime in seconds. Default 3 h (as ACR). */
  refreshTokenTtl?: number;
  /**
   * Entra token audiences (`aud`) /oauth2/exchange refuses, as a registry does whose
   * authentication-as-ARM policy is off (the ARM audience) or in a cloud that wants the ARM audience.
   */
  refusedAudiences?: string[];
  /** Anonymous GET /oauth2/token gets pull (ACR "anonymous pull"). Default false. */
  anonymousPull?: boolean;
  /** Reject bearer tokens past exp at the origin (no 60 s leeway). Default true. */
  strictExpiry?: boolean;
  port?: number;
}

export interface RunningAcrOrigin {
  /** http://127.0.0.1:PORT */
  url: string;
  /** "127.0.0.1:PORT": the login server, and the token `service`. */
  host: string;
  service: string;
  realm: string;
  issuer: TokenIssuer;
  /** The real registry behind the origin (tests normally do not talk to it directly). */
  registry: RunningRegistry;
  readonly requests: AcrTokenRequestRecord[];
  clear(): void;
  acceptAccessToken(token: string): void;
  revokeAccessToken(token: string): void;
  acceptRefreshToken(token: string): void;
  /** Revokes every refresh token (issued or configured). */
  revokeRefreshTokens(): void;
  setAccessTokenTtl(seconds: number): void;
  setRefreshTokenTtl(seconds: number): void;
  setAnonymousPull(enabled: boolean): void;
  /** Mints an access token directly (no HTTP). */
  mintAccessToken(access: AccessEntry[], ttlSeconds?: number): string;
  stop(): Promise<void>;
}

/** What a principal may do: everything requested for known principals, pull for anonymous. */
function grant(anonymous: boolean, requested: AccessEntry[]): AccessEntry[] {
  return requested.flatMap((r) => {
    if (r.type === 'repository') {
      const actions = anonymous ? r.actions.filter((a) => a === 'pull') : r.actions.filter((a) => ['pull', 'push', 'delete', '*', 'metadata_read', 'metadata_write'].includes(a));
      return [{ ...r, actions }];
    }
    if (r.type === 'registry' && r.name === 'catalog' && !anonymous) return [{ ...r, actions: ['*'] }];
    return [];
  });
}

export async function startAcrOrigin(opts: AcrOriginOptions = {}): Promise<RunningAcrOrigin> {
  const dir = makeTempDir('acr-origin');
  let registry: RunningRegistry | undefined;
  let closeServer: (() => Promise<void>) | undefined;
  try {
    const signer = await createSigningCert(dir, 'acr-import harness ACR');
    const users = opts.users ?? { [TEST_USERNAME]: TEST_PASSWORD };
    const accessTokens = new Set(opts.acceptedAccessTokens ?? []);
    const refusedAudiences = new Set(opts.refusedAudiences ?? []);
    const configuredRefresh = new Set(opts.refreshTokens ?? []);
    const issuedRefresh = new Set<string>(); // jti of refresh tokens minted by exchange
    let accessTtl = opts.accessTokenTtl ?? 300;
    let refreshTtl = opts.refreshTokenTtl ?? 3 * 3600;
    let anonymousPull = opts.anonymousPull ?? false;
    const strictExpiry = opts.strictExpiry ?? true;
    const requests: AcrTokenRequestRecord[] = [];

    // The port must exist before the registry config (realm) can name it.
    const server = http.createServer();
    const l = await listen(server, opts.port ?? 0);
    closeServer = l.close;
    const url = `http://${l.host}`;
    const service = l.host;
    const realm = `${url}/oauth2/token`;
    const issuer = new TokenIssuer(`${l.host}`, signer);

    registry = await startRegistry({ auth: { kind: 'token', realm, service, issuer: issuer.issuer, rootCertBundle: signer.certPath } });
    const upstream = { url: registry.url };
    const agent = makeAgent(upstream);

    const validRefresh = (token: string): { sub: string } | undefined => {
      if (configuredRefresh.has(token)) return { sub: 'configured-refresh-token' };
      const claims = issuer.verify(token, { audience: service });
      if (!claims || claims.grant_type !== 'refresh_token' || !issuedRefresh.has(claims.jti)) return undefined;
      return { sub: claims.sub };
    };

    const mintAccess = (sub: string, grantType: string, access: AccessEntry[], ttl = accessTtl) =>
      issuer.mint({ subject: sub, audience: service, access, ttlSeconds: ttl, extra: { grant_type: grantType, version: '1.0', tenant: 'harness-tenant' } }).token;

    async function oauth(req: http.IncomingMessage, res: http.ServerResponse, endpoint: 'exchange' | 'token'): Promise<void> {
      const rec: AcrTokenRequestRecord = { time: Date.now(), endpoint, method: req.method ?? 'GET', scopes: [], credential: 'anonymous', status: 0, granted: [] };
      requests.push(rec);
      const reply = (status: number, body: unknown) => {
        rec.status = status;
        sendJson(res, status, body);
      };
      const unauthorized = (message = 'authentication required') => reply(401, { errors: [{ code: 'UNAUTHORIZED', message }] });
      const badRequest = (message: string) => reply(400, { errors: [{ code: 'BAD_REQUEST', message }] });

      let params: URLSearchParams;
      if (req.method === 'POST') {
        params = new URLSearchParams((await readBody(req)).toString('utf8'));
      } else if (req.method === 'GET' && endpoint === 'token') {
        params = new URL(req.url ?? '/', 'http://x').searchParams;
      } else {
        return reply(405, { errors: [{ code: 'UNSUPPORTED', message: 'method not allowed' }] });
      }
      rec.grantType = params.get('grant_type') ?? undefined;
      rec.service = params.get('service') ?? undefined;
      rec.tenant = params.get('tenant') ?? undefined;
      rec.scopes = scopesFrom(params);
      if (rec.service !== undefined && rec.service !== service) return badRequest(`unknown service ${rec.service}`);

      if (endpoint === 'exchange') {
        if (rec.grantType !== 'access_token') return badRequest('grant_type must be access_token');
        rec.credential = 'access_token';
        const at = params.get('access_token') ?? '';
        if (!accessTokens.has(at)) {
          rec.credential = 'invalid';
          return unauthorized('invalid access token');
        }
        let sub = 'entra-principal';
        let audience: unknown;
        try {
          const c = decodeJwt(at);
          if (typeof c.oid === 'string') sub = c.oid;
          else if (typeof c.sub === 'string') sub = c.sub;
          audience = c.aud;
        } catch {
          /* opaque test token */
        }
        if (typeof audience === 'string' && refusedAudiences.has(audience)) {
          rec.credential = 'invalid';
          return unauthorized(`the access token's audience ${audience} is not accepted by this registry`);
        }
        const { token, claims } = issuer.mint({ subject: sub, audience: service, ttlSeconds: refreshTtl, extra: { grant_type: 'refresh_token', tenant: rec.tenant ?? 'harness-tenant', version: '1.0' } });
        issuedRefresh.add(claims.jti);
        return reply(200, { refresh_token: token });
      }

      const requested = parseScopes(rec.scopes);
      let principal: string;
      let anonymous = false;
      if (req.method === 'POST') {
        if (rec.grantType === 'refresh_token') {
          rec.credential = 'refresh_token';
          const ok = validRefresh(params.get('refresh_token') ?? '');
          if (!ok) {
            rec.credential = 'invalid';
            return unauthorized('invalid refresh token');
          }
          principal = ok.sub;
        } else if (rec.grantType === 'password') {
          rec.credential = 'password';
          const username = params.get('username') ?? '';
          rec.username = username;
          if (users[username] === undefined || users[username] !== params.get('password')) {
            rec.credential = 'invalid';
            return unauthorized();
          }
          principal = username;
        } else {
          return badRequest('unsupported grant_type');
        }
      } else {
        const basic = parseBasicAuth(req.headers.authorization);
        if (req.headers.authorization && !basic) {
          rec.credential = 'invalid';
          return unauthorized();
        }
        if (!basic) {
          if (!anonymousPull) return unauthorized();
          anonymous = true;
          principal = '';
        } else if (basic.username === ACR_NULL_GUID) {
          rec.credential = 'basic_refresh_token';
          rec.username = basic.username;
          const ok = validRefresh(basic.password);
          if (!ok) {
            rec.credential = 'invalid';
            return unauthorized('invalid refresh token');
          }
          principal = ok.sub;
        } else {
          rec.credential = 'basic';
          rec.username = basic.username;
          if (users[basic.username] === undefined || users[basic.username] !== basic.password) {
            rec.credential = 'invalid';
            return unauthorized();
          }
          principal = basic.username;
        }
      }
      rec.granted = grant(anonymous, requested);
      reply(200, { access_token: mintAccess(principal, rec.grantType ?? 'basic', rec.granted) });
    }

    // Legacy artifact manifests, by `repo@digest`, and the tags that point at them.
    const artifacts = new Map<string, Buffer>();
    const artifactTags = new Map<string, string>();
    const allowed = (req: http.IncomingMessage, repo: string, action: 'pull' | 'push') => {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      const claims = m ? issuer.verify(m[1]!, { audience: service }) : undefined;
      return Boolean(claims?.access.some((a) => a.type === 'repository' && a.name === repo && a.actions.includes(action)));
    };
    /** Answers a manifest request about a legacy artifact manifest; false to let the registry answer. */
    const legacyArtifact = (req: http.IncomingMessage, res: http.ServerResponse, repo: string, ref: string): boolean => {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (req.method === 'PUT' && type === LEGACY_ARTIFACT_MANIFEST) {
        if (!allowed(req, repo, 'push')) return false; // the registry answers with its 401 and challenge
        void readBody(req).then((bytes) => {
          const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
          if (ref.startsWith('sha256:') && ref !== digest) return sendJson(res, 400, { errors: [{ code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' }] });
          artifacts.set(`${repo}@${digest}`, bytes);
          if (!ref.includes(':')) artifactTags.set(`${repo}:${ref}`, digest);
          res.writeHead(201, { location: `/v2/${repo}/manifests/${digest}`, 'docker-content-digest': digest, 'content-length': '0' });
          res.end();
        });
        return true;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const digest = ref.includes(':') ? ref : artifactTags.get(`${repo}:${ref}`);
      const bytes = digest ? artifacts.get(`${repo}@${digest}`) : undefined;
      if (!bytes || !allowed(req, repo, 'pull')) return false;
      const accept = String(req.headers.accept ?? '');
      if (accept && !accept.includes(LEGACY_ARTIFACT_MANIFEST) && !accept.includes('*/*')) {
        sendJson(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'OCI artifact manifest found, but accept header does not support OCI artifact manifests' }] });
        return true;
      }
      res.writeHead(200, { 'content-type': LEGACY_ARTIFACT_MANIFEST, 'docker-content-digest': digest!, 'content-length': String(bytes.length) });
      res.end(req.method === 'HEAD' ? undefined : bytes);
      return true;
    };

    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/oauth2/exchange' || path === '/oauth2/token') {
        void oauth(req, res, path === '/oauth2/exchange' ? 'exchange' : 'token').catch((err: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] });
        });
        return;
      }
      if (path === '/v2' || path.startsWith('/v2/')) {
        if (strictExpiry) {
          const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
          if (m) {
            const claims = issuer.verify(m[1]!, { audience: service, ignoreExpiry: true });
            if (claims && claims.exp <= Math.floor(Date.now() / 1000)) delete req.headers.authorization;
          }
        }
        const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
        if (manifest && legacyArtifact(req, res, manifest[1]!, decodeURIComponent(manifest[2]!))) return;
        forward(req, res, upstream, agent, { publicOrigin: url });
        return;
      }
      sendJson(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
    });

    const reg = registry;
    let stopped: Promise<void> | undefined;
    return {
      url,
      host: l.host,
      service,
      realm,
      issuer,
      registry: reg,
      requests,
      clear: () => {
        requests.length = 0;
      },
      acceptAccessToken: (t) => void accessTokens.add(t),
      revokeAccessToken: (t) => void accessTokens.delete(t),
      acceptRefreshToken: (t) => void configuredRefresh.add(t),
      revokeRefreshTokens: () => {
        configuredRefresh.clear();
        issuedRefresh.clear();
      },
      setAccessTokenTtl: (s) => {
        accessTtl = s;
      },
      setRefreshTokenTtl: (s) => {
        refreshTtl = s;
      },
      setAnonymousPull: (b) => {
        anonymousPull = b;
      },
      mintAccessToken: (access, ttl) => mintAccess('harness', 'direct', access, ttl),
      stop: () => {
        stopped ??= (async () => {
          await l.close();
          agent.destroy();
          await reg.stop();
          removeTempDir(dir);
        })();
        return stopped;
      },
    };
  } catch (err) {
    await registry?.stop();
    await closeServer?.();
    removeTempDir(dir);
    throw err;
  }
}
