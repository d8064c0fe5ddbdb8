// Reading claims of a JWT without verifying it: we only need to know when a token expires and
// which tenant issued it; the registry or token service does the verifying.

/** The payload of a JWT, or undefined for opaque tokens. */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `exp` of a JWT in epoch milliseconds. */
export function jwtExpiry(token: string): number | undefined {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === 'number' ? exp * 1000 : undefined;
}

/** The `tid` claim (Entra ID access tokens carry the tenant there). */
export function jwtTenant(token: string): string | undefined {
  const tid = jwtClaims(token)?.tid;
  return typeof tid === 'string' && tid ? tid : undefined;
}
