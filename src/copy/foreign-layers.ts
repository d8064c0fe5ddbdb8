// Foreign (non-distributable) layers, fetched from the `urls` their descriptors name
// (--include-foreign-layers). A manifest is the source's to write, so every such URL is a request
// the source makes in the user's network: only https, only to public addresses (checked on the
// address actually connected to, at every hop of a redirect), and never more bytes than declared.
// Through an HTTP(S)_PROXY the proxy connects, not us: the name is then resolved and checked before
// the request, and the proxy's own resolution is its to guard.
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { EnvHttpProxyAgent, request } from '../transport/undici.js';
import { AcrImportError } from '../errors.js';
import type { Descriptor } from '../oci/media-types.js';
import { finish, hasherFor } from '../oci/digest.js';
import { discardBody } from '../transport/http.js';
import { isRetryable } from '../transport/retry.js';
import { sanitize } from '../text/sanitize.js';

export interface ForeignLayerPolicy {
  /** --allow-foreign-layer-host: hosts fetched from whatever their scheme and address. */
  allowHosts?: string[];
}

const MAX_REDIRECTS = 5;

/** Addresses that are not on the public internet (IANA special-purpose registries). */
const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::ffff:0:0', 96], // IPv4-mapped: an IPv4 address in disguise
  ['64:ff9b::', 96], // NAT64: the same
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo included)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: an IPv4 address inside
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !NON_PUBLIC.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** A foreign layer's bytes, fetched from the first of its `urls` that answers, checked against its digest. */
export function foreignLayerStream(blob: Descriptor, offset: number, signal: AbortSignal, policy: ForeignLayerPolicy = {}): Readable {
  const allowed = new Set((policy.allowHosts ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean));
  return Readable.from(
    (async function* () {
      const urls = blob.urls ?? [];
      if (!urls.length) throw new AcrImportError('integrity', `Foreign layer ${blob.digest} has no URLs to fetch it from.`);
      // Its own connections: the lookup below checks every address before a direct socket is opened.
      const agent = new EnvHttpProxyAgent({ connect: { lookup: publicOnlyLookup(allowed) } });
      try {
        let lastError: unknown;
        for (const url of urls) {
          const res = await open(agent, url, blob, allowed, signal).catch((e: unknown) => {
            lastError = e;
            return undefined;
          });
          if (!res) {
            // A refusal is the answer for this manifest, not a reason to try its next URL.
            if (lastError instanceof AcrImportError && lastError.kind === 'limit') throw lastError;
            continue;
          }
          yield* readExactly(res, blob, offset);
          return;
        }
        throw lastError;
      } finally {
        await agent.close().catch(() => undefined);
      }
    })(),
    { objectMode: false },
  );
}

/** GET, following redirects by hand so that every hop's URL is checked before it is asked. */
async function open(agent: Dispatcher, first: string, blob: Descriptor, allowed: Set<string>, signal: AbortSignal): Promise<{ url: string; body: Dispatcher.ResponseData['body']; length?: number }> {
  let url = first;
  for (let hop = 0; ; hop++) {
    const target = checkUrl(url, blob, allowed);
    if (proxied()) await checkResolved(target.hostname, allowed);
    const res = await request(target, { method: 'GET', dispatcher: agent, signal }).catch((err: unknown) => {
      // A dropped connection is worth another attempt of the whole blob (execute.ts retries transient failures).
      throw refusalIn(err) ?? new AcrImportError(isRetryable(err) ? 'transient' : 'network', `Foreign layer ${blob.digest}: GET ${shown(url)} failed: ${(err as Error).message}.`, { cause: err });
    });
    const location = res.headers.location;
    if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
      await res.body.dump().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) throw new AcrImportError('network', `Foreign layer ${blob.digest}: more than ${MAX_REDIRECTS} redirects from ${shown(first)}.`);
      url = new URL(location, target).href;
      continue;
    }
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      throw new AcrImportError('not-found', `Foreign layer ${blob.digest}: GET ${shown(url)} answered HTTP ${res.statusCode}.`);
    }
    const length = Number(res.headers['content-length']);
    return { url, body: res.body, length: Number.isFinite(length) ? length : undefined };
  }
}

/** The bytes from `offset`, stopping the moment more than the declared size arrives. */
async function* readExactly(res: { url: string; body: Dispatcher.ResponseData['body']; length?: number }, blob: Descriptor, offset: number): AsyncGenerator<Buffer> {
  const tooMuch = () => new AcrImportError('integrity', `Foreign layer ${blob.digest} from ${shown(res.url)} is larger than the ${blob.size} bytes its descriptor declares; stopped reading.`);
  if (res.length !== undefined && res.length > blob.size) {
    discardBody(res.body);
    throw tooMuch();
  }
  const hash = hasherFor(blob.digest);
  let n = 0;
  for await (const c of res.body) {
    const chunk = c as Buffer;
    if (n + chunk.length > blob.size) {
      discardBody(res.body);
      throw tooMuch();
    }
    hash.update(chunk);
    if (n + chunk.length > offset) yield n >= offset ? chunk : chunk.subarray(offset - n);
    n += chunk.length;
  }
  // What was refused is not described further: its hash would only help whoever forged it.
  if (n !== blob.size || finish(hash, blob.digest) !== blob.digest) {
    throw new AcrImportError('integrity', `Foreign layer ${blob.digest} from ${shown(res.url)} does not match its descriptor (${n} of ${blob.size} bytes, or other content).`);
  }
}

/** https only, and no address literal outside the public internet, unless the host is allowed. */
function checkUrl(url: string, blob: Descriptor, allowed: Set<string>): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw refusal(`Foreign layer ${blob.digest} names an invalid URL ${shown(url)}.`);
  }
  if (isAllowed(u.hostname, allowed) || allowed.has(u.host.toLowerCase())) return u;
  if (u.protocol !== 'https:') throw refusal(`Foreign layer ${blob.digest}: refusing ${shown(url)}: foreign layers are fetched over https only.`);
  const literal = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && !isPublicAddress(literal)) {
    throw refusal(`Foreign layer ${blob.digest}: refusing ${shown(url)}: ${literal} is not a public address (loopback, private, link-local and other special ranges are refused).`);
  }
  return u;
}

/** dns.lookup, refusing a name that resolves to any address outside the public internet. */
function publicOnlyLookup(allowed: Set<string>): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: (...args: never[]) => void) => {
    const cb = callback as unknown as (err: Error | null, address?: string | LookupAddress[], family?: number) => void;
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return cb(err);
      const bad = nonPublic(hostname, addresses, allowed);
      if (bad) return cb(bad);
      if (options.all) return cb(null, addresses);
      const [first] = addresses;
      if (!first) return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
      cb(null, first.address, first.family);
    });
  };
}

/** The refusal for a name with any address outside the public internet, unless the host is allowed. */
function nonPublic(hostname: string, addresses: LookupAddress[], allowed: Set<string>): AcrImportError | undefined {
  const bad = isAllowed(hostname, allowed) ? undefined : addresses.find((a) => !isPublicAddress(a.address));
  return bad && refusal(`Foreign layer host ${hostname} resolves to ${bad.address}, which is not a public address; refusing to connect.`);
}

/** Before a request through a proxy: the name as this machine resolves it (literals were checked already). */
async function checkResolved(hostname: string, allowed: Set<string>): Promise<void> {
  const name = hostname.replace(/^\[|\]$/g, '');
  if (isIP(name) || isAllowed(name, allowed)) return;
  const addresses = await dns.promises.lookup(name, { all: true }).catch((err: unknown) => {
    throw new AcrImportError('network', `Cannot resolve foreign layer host ${name}: ${(err as Error).message}.`, { cause: err });
  });
  const bad = nonPublic(name, addresses, allowed);
  if (bad) throw bad;
}

/** Whether a proxy is configured (undici's EnvHttpProxyAgent reads the same variables; NO_PROXY may still exempt a host). */
function proxied(): boolean {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((k) => process.env[k]);
}

function isAllowed(hostname: string, allowed: Set<string>): boolean {
  return allowed.has(hostname.replace(/^\[|\]$/g, '').toLowerCase()) || allowed.has(hostname.toLowerCase());
}

function refusal(message: string): AcrImportError {
  return new AcrImportError('limit', message, { hint: 'Foreign layers come only from public https hosts; --allow-foreign-layer-host <host> lifts this for a host you trust.' });
}

/** The refusal raised in the lookup, however the HTTP client wrapped it. */
function refusalIn(err: unknown): AcrImportError | undefined {
  for (let e = err; e; e = (e as { cause?: unknown }).cause) if (e instanceof AcrImportError) return e;
  return undefined;
}

/** A URL as the manifest gave it, made safe to print (a manifest is free to fill it with anything). */
function shown(url: string): string {
  return sanitize(url, 200);
}
