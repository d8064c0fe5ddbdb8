// `GET /v2/` (spec: "Determining support"), asked once per registry and run: it tells whether
// the registry needs authentication, with which challenge, and whether a loopback registry
// serves TLS. Sign-in detection (is this an ACR?) and the authenticator share the one answer.
import { header, type Transport } from '../transport/http.js';
import { parseChallenges, type Challenge } from './challenge.js';

export interface PingResult {
  /** The base URL that answered: `http://` turned `https://` for a loopback registry serving TLS. */
  baseUrl: string;
  status: number;
  contentType: string;
  challenges: Challenge[];
}

const pings = new WeakMap<Transport, Map<string, Promise<PingResult>>>();

/**
 * The registry's answer to `GET /v2/`, shared by every caller on this transport. A failure after
 * the retries is kept too (asking again would only repeat them), unless the caller gave up waiting.
 */
export function pingRegistry(transport: Transport, baseUrl: string, signal?: AbortSignal): Promise<PingResult> {
  let byUrl = pings.get(transport);
  if (!byUrl) pings.set(transport, (byUrl = new Map()));
  let p = byUrl.get(baseUrl);
  if (!p) {
    p = ping(transport, baseUrl, signal);
    byUrl.set(baseUrl, p);
    const map = byUrl;
    p.catch(() => {
      if (signal?.aborted && map.get(baseUrl) === p) map.delete(baseUrl);
    });
  }
  return p;
}

/** The answer of a `GET /v2/` already asked on this transport, if any. */
export function peekPing(transport: Transport, baseUrl: string): Promise<PingResult> | undefined {
  return pings.get(transport)?.get(baseUrl);
}

async function ping(transport: Transport, start: string, signal?: AbortSignal): Promise<PingResult> {
  let baseUrl = start;
  let res = await transport.send({ method: 'GET', url: `${baseUrl}/v2/`, signal });
  // A loopback registry is reached over http by default; one that serves TLS says so with a 400.
  if (res.status === 400 && baseUrl.startsWith('http://') && /HTTPS server/i.test(await res.body.text().catch(() => ''))) {
    baseUrl = baseUrl.replace(/^http:/, 'https:');
    res = await transport.send({ method: 'GET', url: `${baseUrl}/v2/`, signal });
  }
  await res.body.dump().catch(() => undefined);
  return { baseUrl, status: res.status, contentType: header(res.headers, 'content-type') ?? '', challenges: parseChallenges(res.headers['www-authenticate']) };
}
