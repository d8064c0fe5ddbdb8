// Token requests against a registry's token service (distribution "Token Authentication
// Specification" and "OAuth2 Token Authentication"): GET with anonymous or Basic, POST with
// grant_type=refresh_token or password. ACR's /oauth2/token speaks the same protocol.
import { AcrImportError } from '../errors.js';
import { firewallRefusal } from './acr-refusals.js';
import { readCapped } from '../transport/read-capped.js';
import type { HttpResponse, Transport } from '../transport/http.js';
import { jwtExpiry } from './jwt.js';

export interface BearerChallenge {
  realm: string;
  service?: string;
}

export interface IssuedToken {
  token: string;
  /** Epoch milliseconds after which the token must not be used. */
  expiresAt: number;
  lifetimeMs: number;
}

/** Seconds of validity assumed when a response gives neither expires_in nor a JWT exp (spec: 60). */
const DEFAULT_EXPIRES_IN = 60;
const CLIENT_ID = 'acr-import';

function issued(token: string, expiresIn: unknown): IssuedToken {
  const now = Date.now();
  let expiresAt: number;
  if (typeof expiresIn === 'number' && expiresIn > 0) expiresAt = now + expiresIn * 1000;
  else expiresAt = jwtExpiry(token) ?? now + DEFAULT_EXPIRES_IN * 1000;
  return { token, expiresAt, lifetimeMs: Math.max(0, expiresAt - now) };
}

async function parseTokenResponse(res: HttpResponse, what: string, registry: string): Promise<IssuedToken> {
  const text = (await readCapped(res, 1024 * 1024)).toString('utf8');
  if (res.status === 401 || res.status === 403) {
    const firewall = firewallRefusal({ status: res.status, detail: '', body: text.slice(0, 2000), registry, what: `${what} at the token service` });
    if (firewall) throw new AcrImportError(firewall.kind, firewall.message, { hint: firewall.hint });
    throw new AcrImportError('auth', `Authentication to ${registry} failed: the token service refused the credentials (${what}, HTTP ${res.status}).`, {
      hint: `Check the username and password or token given for ${registry}.`,
    });
  }
  if (res.status < 200 || res.status >= 300) {
    throw new AcrImportError(res.status >= 500 || res.status === 429 ? 'transient' : 'auth', `The token service of ${registry} answered HTTP ${res.status} (${what}).`);
  }
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; refresh_token?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    throw new AcrImportError('auth', `The token service of ${registry} did not answer with JSON (${what}).`);
  }
  const token = typeof body.access_token === 'string' && body.access_token ? body.access_token : body.token;
  if (typeof token !== 'string' || !token) {
    throw new AcrImportError('auth', `The token service of ${registry} answered without a token (${what}).`);
  }
  return issued(token, body.expires_in);
}

function tokenUrl(challenge: BearerChallenge, scopes: string[]): string {
  const url = new URL(challenge.realm);
  if (challenge.service) url.searchParams.set('service', challenge.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  return url.toString();
}

/** GET realm?service=&scope=…, anonymously or with Basic credentials (Docker Hub, Distribution). */
export async function getToken(
  transport: Transport,
  challenge: BearerChallenge,
  scopes: string[],
  registry: string,
  basic?: { username: string; password: string },
): Promise<IssuedToken> {
  const headers: Record<string, string> = {};
  if (basic) headers.authorization = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
  const res = await transport.send({ method: 'GET', url: tokenUrl(challenge, scopes), headers });
  // Some token services only speak the OAuth2 POST form for Basic users.
  if (basic && (res.status === 404 || res.status === 405)) {
    await res.body.dump().catch(() => undefined);
    return postToken(transport, challenge, scopes, registry, { grant_type: 'password', username: basic.username, password: basic.password });
  }
  return parseTokenResponse(res, basic ? 'GET with Basic credentials' : 'anonymous GET', registry);
}

/** POST realm with grant_type=refresh_token or password (OAuth2 form). */
export async function postToken(
  transport: Transport,
  challenge: BearerChallenge,
  scopes: string[],
  registry: string,
  grant: { grant_type: 'refresh_token'; refresh_token: string } | { grant_type: 'password'; username: string; password: string },
): Promise<IssuedToken> {
  const form = new URLSearchParams({ ...grant, client_id: CLIENT_ID });
  if (challenge.service) form.set('service', challenge.service);
  // The spec makes scope space-delimited in the POST form.
  if (scopes.length) form.set('scope', scopes.join(' '));
  const res = await transport.send({
    method: 'POST',
    url: challenge.realm,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: () => form.toString(),
  });
  return parseTokenResponse(res, `POST grant_type=${grant.grant_type}`, registry);
}
