// Tests reach nothing beyond loopback. Loaded into every test worker (vitest setupFiles) and, through
// NODE_OPTIONS, into every Node process a test starts: a TCP connection or a DNS lookup for anything
// but loopback is refused at once (never sent) and written down, and the test that caused it fails.
// Plain JavaScript, so child processes can `--import` it without a TypeScript loader.
import dns from 'node:dns';
import { appendFileSync } from 'node:fs';
import net from 'node:net';

/** File where every process of the run appends what it refused, one line each. */
export const GUARD_LOG_ENV = 'TEST_NETWORK_GUARD_LOG';

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.', 'ip6-localhost', 'ip6-loopback']);

/** 127.0.0.0/8, ::1, ::ffff:127.x, and the names that mean them. */
export function isLoopback(host) {
  if (typeof host !== 'string' || host === '') return true; // no host: Node connects to localhost
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (LOOPBACK_NAMES.has(h) || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h) || h === '0:0:0:0:0:0:0:1';
  return false;
}

function refuse(what) {
  const line = `${new Date().toISOString()} pid ${process.pid}: refused ${what}`;
  const log = process.env[GUARD_LOG_ENV];
  if (log) {
    try {
      appendFileSync(log, `${line}\n`);
    } catch {
      /* the log is best effort; the refusal itself still happens */
    }
  }
  return Object.assign(new Error(`Blocked by the test network guard: ${what} is beyond loopback.`), { code: 'ENOTFOUND' });
}

/** `.invalid` never resolves (RFC 6761): a test naming it wants ENOTFOUND, and gets it with no query. */
function reservedNotFound(host) {
  return /\.invalid\.?$/i.test(host) || /^[^.]+\.invalid$/i.test(host);
}

/**
 * Names a test maps to a loopback address (`name=127.0.0.1,other=::1`), read at each lookup: lets a
 * test use a real-looking name such as `myacr.azurecr.io` for a server the harness runs on loopback.
 */
export const GUARD_HOSTS_ENV = 'TEST_NETWORK_GUARD_HOSTS';

function mapped(hostname) {
  for (const pair of (process.env[GUARD_HOSTS_ENV] ?? '').split(',')) {
    const [name, address] = pair.split('=').map((x) => x?.trim());
    if (name && address && name.toLowerCase() === String(hostname).toLowerCase() && isLoopback(address)) return address;
  }
  return undefined;
}

const origLookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  const address = mapped(hostname);
  if (address) {
    const family = net.isIPv6(address) ? 6 : 4;
    const all = typeof options === 'object' && options?.all;
    process.nextTick(() => (all ? cb(null, [{ address, family }]) : cb(null, address, family)));
    return {};
  }
  if (!isLoopback(hostname) && !net.isIP(hostname)) {
    const err = reservedNotFound(hostname) ? Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }) : refuse(`DNS lookup of ${hostname}`);
    process.nextTick(() => cb(err));
    return {};
  }
  return origLookup.call(this, hostname, options, callback);
};
const origPromisesLookup = dns.promises.lookup;
dns.promises.lookup = async function guardedPromisesLookup(hostname, options) {
  const address = mapped(hostname);
  if (address) {
    const family = net.isIPv6(address) ? 6 : 4;
    return typeof options === 'object' && options?.all ? [{ address, family }] : { address, family };
  }
  if (!isLoopback(hostname) && !net.isIP(hostname)) {
    if (reservedNotFound(hostname)) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
    throw refuse(`DNS lookup of ${hostname}`);
  }
  return origPromisesLookup.call(this, hostname, options);
};

const origConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host;
  let path;
  if (first && typeof first === 'object') {
    host = first.host;
    path = first.path;
  } else if (typeof first === 'string' && !/^\d+$/.test(first)) {
    path = first; // a unix socket path
  } else {
    host = typeof args[1] === 'string' ? args[1] : undefined;
  }
  // An IP literal beyond loopback is refused here; a name goes through the guarded lookup.
  if (!path && host && net.isIP(host.replace(/^\[|\]$/g, '')) && !isLoopback(host)) {
    const err = refuse(`connection to ${host}`);
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return origConnect.apply(this, args);
};
