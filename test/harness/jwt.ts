/**
 * RS256 JWTs in the shape Distribution 2.8's `auth.token` accepts:
 *  - header carries `x5c` (signing cert, base64 DER); the registry checks that
 *    chain against `rootcertbundle`, so no `kid`/JWK is needed;
 *  - `aud` is a plain string (2.8 unmarshals it into a string, an array is rejected);
 *  - `access` is a list of {type, name, actions}.
 * Distribution accepts tokens up to 60 s after `exp` (fixed leeway), so a token
 * "expired" by the clock is still honoured for a minute.
 */
import { X509Certificate, createSign, createVerify, randomUUID } from 'node:crypto';
import type { IssuedCert } from './pki.js';

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: AccessEntry[];
  [extra: string]: unknown;
}

export interface MintOptions {
  subject?: string;
  audience: string;
  access?: AccessEntry[];
  /** Lifetime in seconds (may be 0 or negative to mint already-expired tokens). */
  ttlSeconds: number;
  /** Extra claims (e.g. ACR's grant_type, tenant). */
  extra?: Record<string, unknown>;
}

const b64url = (buf: Buffer | string) => Buffer.from(buf).toString('base64url');

export class TokenIssuer {
  readonly x5c: string;

  constructor(
    readonly issuer: string,
    private readonly signer: IssuedCert,
  ) {
    this.x5c = new X509Certificate(signer.certPem).raw.toString('base64');
  }

  /** PEM file to use as the registry's rootcertbundle. */
  get certPath(): string {
    return this.signer.certPath;
  }

  mint(opts: MintOptions): { token: string; claims: TokenClaims } {
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = {
      ...opts.extra,
      iss: this.issuer,
      sub: opts.subject ?? '',
      aud: opts.audience,
      exp: now + opts.ttlSeconds,
      // nbf slightly in the past: tolerate clock granularity between Node and Go.
      nbf: now - 5,
      iat: now,
      jti: randomUUID(),
      access: opts.access ?? [],
    };
    const header = { typ: 'JWT', alg: 'RS256', x5c: [this.x5c] };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(signingInput).sign(this.signer.keyPem);
    return { token: `${signingInput}.${b64url(signature)}`, claims };
  }

  /** Verifies signature, issuer and expiry of a token this issuer minted; returns claims or undefined. */
  verify(token: string, opts: { audience?: string; ignoreExpiry?: boolean } = {}): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [h, p, s] = parts as [string, string, string];
    const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(this.signer.certPem, Buffer.from(s, 'base64url'));
    if (!ok) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return undefined;
    }
    if (claims.iss !== this.issuer) return undefined;
    if (opts.audience !== undefined && claims.aud !== opts.audience) return undefined;
    if (!opts.ignoreExpiry && claims.exp < Math.floor(Date.now() / 1000)) return undefined;
    return claims;
  }
}

/** Decodes a JWT payload without verifying it (for test assertions). */
export function decodeJwt(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Parses a Docker scope string list ("repository:foo/bar:pull,push", "registry:catalog:*"). */
export function parseScopes(scopes: string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const raw of scopes) {
    for (const scope of raw.split(' ')) {
      if (!scope) continue;
      // The name may itself contain ':' (e.g. repository(plugin):name); split on first and last colon.
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first < 0 || last === first) continue;
      let type = scope.slice(0, first);
      const paren = type.indexOf('(');
      if (paren >= 0) type = type.slice(0, paren);
      out.push({ type, name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) });
    }
  }
  return out;
}
