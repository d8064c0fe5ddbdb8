/**
 * The sign-in a personality asks for before the registry behind it sees a request: none, Basic
 * with the personality's own user, or Docker token auth with a realm on another host
 * (https://distribution.github.io/distribution/spec/auth/token/). Every personality has its own
 * user and password, so a credential found at another origin is a leak, never a coincidence.
 * The registry behind stays open: the front door strips Authorization before forwarding.
 */
import { randomBytes } from 'node:crypto';
import type { ProxyRequestInfo } from '../proxy.js';
import { startTokenService, type RunningTokenService } from '../token-service.js';
import { basicAuthHeader } from '../util.js';
import type { Hop } from './hops.js';

export interface FrontDoorOptions {
  kind: 'anonymous' | 'basic' | 'token';
  /** Reads without credentials: Basic lets them through, token auth hands out an anonymous pull token. */
  anonymousPull?: boolean;
  /** A fixed `scope` in every challenge (GHCR's placeholder), instead of the repository asked for. */
  placeholderScope?: string;
  /** The user name (ECR's is always "AWS"); the password is random. */
  username?: string;
}

export interface FrontDoor {
  readonly kind: FrontDoorOptions['kind'];
  /** The personality's own credentials (none for an anonymous front door). */
  readonly credentials?: { username: string; password: string };
  /** Token realm URL (token auth only). */
  readonly realm?: string;
  /** undefined: let it through; else the WWW-Authenticate challenge of a 401. */
  refuse(req: ProxyRequestInfo): string | undefined;
  /** The challenge a 401 for this request carries (also used for a scripted 401). */
  challenge(req: ProxyRequestInfo): string | undefined;
  /** Whether an Authorization header is one this personality issued or accepts. */
  owns(authorization: string): boolean;
  /** What the realm received, as hops (user names only). */
  realmHops(name: string): Hop[];
  stop(): Promise<void>;
}

const READS = new Set(['GET', 'HEAD']);

function actionsFor(req: ProxyRequestInfo): string[] {
  return READS.has(req.method) ? ['pull'] : ['pull', 'push'];
}

export async function startFrontDoor(name: string, o: FrontDoorOptions): Promise<FrontDoor> {
  if (o.kind === 'anonymous') {
    return { kind: o.kind, refuse: () => undefined, challenge: () => undefined, owns: () => false, realmHops: () => [], stop: async () => undefined };
  }
  const credentials = { username: o.username ?? `${name}-user`, password: `${name}-secret-${randomBytes(9).toString('hex')}` };
  const basic = basicAuthHeader(credentials.username, credentials.password);

  if (o.kind === 'basic') {
    const challenge = () => `Basic realm="${name}"`;
    return {
      kind: o.kind,
      credentials,
      challenge,
      refuse: (req) => {
        const auth = req.headers.authorization;
        if (auth === basic) return undefined;
        if (!auth && o.anonymousPull && READS.has(req.method) && req.kind !== 'base') return undefined;
        return challenge();
      },
      owns: (auth) => auth === basic,
      realmHops: () => [],
      stop: async () => undefined,
    };
  }

  const tokens: RunningTokenService = await startTokenService({
    users: { [credentials.username]: credentials.password },
    policy: (who, requested) =>
      requested
        .filter((r) => r.type === 'repository')
        .map((r) => ({ ...r, actions: r.actions.filter((a) => (who.kind === 'user' ? ['pull', 'push'] : o.anonymousPull ? ['pull'] : []).includes(a)) })),
  });
  const service = `${name}.registry.test`;
  const challenge = (req: ProxyRequestInfo) => {
    const scope = o.placeholderScope ?? (req.repo ? `repository:${req.repo}:${actionsFor(req).join(',')}` : undefined);
    return `Bearer realm="${tokens.realm}",service="${service}"${scope ? `,scope="${scope}"` : ''}`;
  };
  const claimsOf = (auth: string | undefined) => {
    const m = /^Bearer\s+(\S+)$/i.exec(auth ?? '');
    return m ? tokens.issuer.verify(m[1]!, { audience: service }) : undefined;
  };
  return {
    kind: o.kind,
    credentials,
    realm: tokens.realm,
    challenge,
    refuse: (req) => {
      const claims = claimsOf(req.headers.authorization);
      if (!claims) return challenge(req);
      if (req.kind === 'base' || !req.repo) return undefined;
      const granted = claims.access.find((a) => a.type === 'repository' && a.name === req.repo)?.actions ?? [];
      const needed = [...actionsFor(req)];
      // A mount also reads the repository it mounts from.
      const from = /[?&]from=([^&]+)/.exec(req.path)?.[1];
      const fromGranted = from ? (claims.access.find((a) => a.name === decodeURIComponent(from))?.actions ?? []) : ['pull'];
      return needed.every((a) => granted.includes(a)) && fromGranted.includes('pull') ? undefined : challenge(req);
    },
    owns: (auth) => auth === basic || claimsOf(auth) !== undefined,
    realmHops: (origin) =>
      tokens.requests.map((r) => ({
        origin,
        role: 'realm' as const,
        method: r.method,
        path: `/token?scope=${r.scopes.join('&scope=')}`,
        kind: 'other' as const,
        authorization: r.username ? `Basic ${r.username}` : r.credential === 'anonymous' ? undefined : r.credential,
        status: r.status,
        responseHeaders: {},
      })),
    stop: () => tokens.stop(),
  };
}

/** Whether a realm hop's "Basic <user>" is this front door's user. */
export function isOwnRealmUser(door: FrontDoor, authorization: string): boolean {
  return authorization === `Basic ${door.credentials?.username}`;
}
