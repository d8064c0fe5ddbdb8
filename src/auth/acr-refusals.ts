// ACR refusals that read like credential problems but are not: its firewall (public network
// rules), its storage and data endpoints, and repositories that an Artifact Cache rule owns. Each
// is said as what it is, with what to allow or change. Called by content/registry/errors.ts for
// every error answer and by the token services at sign-in; anything else is left to them.
// It lives below the Azure provider on purpose: it is pure knowledge of ACR's answers and domains,
// needed by layers the provider sits above, and a registry copy that never loads the provider
// still says what an ACR firewall means.
import type { ErrorKind } from '../errors.js';
import { header, type HttpResponse } from '../transport/http.js';
import { acrDomainOf } from './acr-domains.js';

export interface AcrRefusal {
  kind: ErrorKind;
  message: string;
  hint: string;
}

export interface RefusedRequest {
  status: number;
  headers: HttpResponse['headers'];
  /** The registry's error code and message (`DENIED: client with IP …`), or the start of the body; redacted and made safe to show. */
  detail: string;
  /** The start of the body as received: only matched, never shown. */
  body: string;
  registry: string;
  /** `METHOD url`, redacted. */
  what: string;
}

/** ACR's firewall: `client with IP '203.0.113.7' is not allowed access. Refer https://aka.ms/acr/firewall …` */
const FIREWALL = /client with IP '?([0-9a-fA-F.:]+)'? is not allowed access/i;
/** Azure Storage names its refusal in this header (AuthorizationFailure, …) and in an XML `<Code>`. */
const STORAGE_CODE = /<Code>\s*([A-Za-z]+)\s*<\/Code>/;

/**
 * ACR's firewall refusal, wherever it comes: a registry request, or the sign-in itself
 * (`/oauth2/token`, `/oauth2/exchange`), which is where a client behind a closed firewall meets it first.
 */
export function firewallRefusal(r: Pick<RefusedRequest, 'status' | 'detail' | 'body' | 'registry' | 'what'>): AcrRefusal | undefined {
  const firewall = FIREWALL.exec(r.detail) ?? FIREWALL.exec(r.body);
  if (!firewall) return undefined;
  return {
    kind: 'network',
    message: `${r.registry}'s firewall does not allow this client (IP ${firewall[1]}): ${r.what} was refused with HTTP ${r.status}. This is a network rule of the registry, not a credential problem.`,
    hint: `Allow ${firewall[1]} in the registry's networking rules (az acr network-rule add --ip-address ${firewall[1]}), or run where the registry allows; ${endpointsToAllow(r.registry)} See https://aka.ms/acr/firewall.`,
  };
}

export function acrRefusal(r: RefusedRequest): AcrRefusal | undefined {
  const method = r.what.split(' ')[0] ?? '';
  const firewall = firewallRefusal(r);
  if (firewall) return firewall;
  // Shown in the message, so only a plain word (the registry's storage controls the header).
  const storageCode = [header(r.headers, 'x-ms-error-code'), STORAGE_CODE.exec(r.body)?.[1]].find((c) => c && /^[A-Za-z]{1,64}$/.test(c));
  if (r.status === 403 && method === 'GET' && r.what.includes('/blobs/') && storageCode) {
    return {
      kind: 'network',
      message: `${r.registry} sent the layer download of ${r.what} to its storage or data endpoint, which refused it (HTTP 403 ${storageCode}). A registry with network rules serves layers from there, and they must allow this client too.`,
      hint: `Let this client reach and be allowed by ${endpointsToAllow(r.registry)} See https://aka.ms/acr/firewall.`,
    };
  }
  // A HEAD answer has no body, so no reason: on an ACR, a 403 there is a missing role or its firewall.
  if (r.status === 403 && method === 'HEAD' && !r.detail && acrDomainOf(r.registry)) {
    return {
      kind: 'auth',
      message: `${r.registry} refused ${r.what} (HTTP 403; a HEAD answer carries no reason).`,
      hint: `Either the identity has no role that allows it (AcrPull to read, AcrPush to write), or the registry's firewall does not allow this client's IP; ${endpointsToAllow(r.registry)} See https://aka.ms/acr/firewall.`,
    };
  }
  if (r.status >= 400 && r.status < 500 && (method === 'PUT' || method === 'POST' || method === 'PATCH') && /cache/i.test(r.detail)) {
    return {
      kind: 'auth',
      message: `${r.registry} refused to write ${r.what}: the repository belongs to an Artifact Cache rule, whose repositories take no pushes or imports (HTTP ${r.status}: ${r.detail}).`,
      hint: 'Import into another repository (-t other/repo:tag), enable writable cache repositories on the registry, or remove the cache rule.',
    };
  }
  return undefined;
}

/** The endpoints a client must reach on a registry with network rules, by the registry's cloud. */
function endpointsToAllow(registry: string): string {
  const cloud = acrDomainOf(registry);
  if (!cloud) return 'a client behind its own firewall must reach the registry, its data endpoints and its storage.';
  const name = registry.toLowerCase().replace(/:\d+$/, '').slice(0, -cloud.loginServerSuffix.length);
  return `a client behind its own firewall must reach ${registry.replace(/:\d+$/, '')}, its data endpoints (${name}.<region>.data${cloud.loginServerSuffix}) and its storage (*${cloud.storageSuffix}).`;
}
