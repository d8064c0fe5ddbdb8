// The guard that keeps every test on loopback: it refuses, at once and without sending a packet,
// a connection or a DNS lookup for anything else, in test workers and in the processes they start.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GUARD_HOSTS_ENV, GUARD_LOG_ENV, isLoopback } from '../harness/network-guard.mjs';

const run = promisify(execFile);

/** Runs `code` in a child Node that inherits NODE_OPTIONS (so the guard), logging to its own file. */
async function inChild(code: string): Promise<{ out: string; log: string }> {
  const log = join(mkdtempSync(join(tmpdir(), 'acr-import-guard-')), 'guard.log');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, [GUARD_LOG_ENV]: log }, timeout: 10_000 });
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    text = '';
  }
  return { out: stdout.trim(), log: text };
}

describe('network guard', () => {
  it('tells loopback from everything else', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['169.254.169.254', '10.0.0.1', '192.168.1.1', '172.16.0.1', '8.8.8.8', '::ffff:10.0.0.1', 'fe80::1', 'management.azure.com', 'registry-1.docker.io']) expect(isLoopback(h), h).toBe(false);
  });

  it('is loaded into the processes a test starts (NODE_OPTIONS)', () => {
    expect(process.env.NODE_OPTIONS).toMatch(/--import \S*network-guard\.mjs/);
    expect(process.env.AZURE_TOKEN_CREDENTIALS).toBe('AzureCliCredential');
  });

  it('refuses the managed-identity address and a private address before connecting, and writes it down', async () => {
    const { out, log } = await inChild(`
      import net from 'node:net';
      const tryIt = (host) => new Promise((r) => { const s = net.connect({ host, port: 80 }); s.on('error', (e) => r(e.message)); s.on('connect', () => { s.destroy(); r('connected'); }); });
      const started = Date.now();
      const a = await tryIt('169.254.169.254');
      const b = await tryIt('10.1.2.3');
      console.log(JSON.stringify({ a, b, ms: Date.now() - started }));
    `);
    const r = JSON.parse(out) as { a: string; b: string; ms: number };
    expect(r.a).toMatch(/Blocked by the test network guard: connection to 169\.254\.169\.254/);
    expect(r.b).toMatch(/Blocked by the test network guard: connection to 10\.1\.2\.3/);
    expect(r.ms).toBeLessThan(1000);
    expect(log).toMatch(/refused connection to 169\.254\.169\.254/);
    expect(log).toMatch(/refused connection to 10\.1\.2\.3/);
  });

  it('refuses DNS lookups of public names, and answers .invalid names ENOTFOUND without asking anyone', async () => {
    const { out, log } = await inChild(`
      import dns from 'node:dns';
      const look = (h) => dns.promises.lookup(h).then(() => 'resolved', (e) => e.code + ' ' + e.message);
      console.log(JSON.stringify({ pub: await look('registry-1.docker.io'), inv: await look('nowhere.invalid'), local: await look('localhost') }));
    `);
    const r = JSON.parse(out) as { pub: string; inv: string; local: string };
    expect(r.pub).toMatch(/Blocked by the test network guard: DNS lookup of registry-1\.docker\.io/);
    expect(r.inv).toMatch(/^ENOTFOUND/);
    expect(r.local).toBe('resolved');
    expect(log).toMatch(/refused DNS lookup of registry-1\.docker\.io/);
    expect(log).not.toMatch(/nowhere\.invalid/);
  });

  it('resolves names a test maps to loopback (TEST_NETWORK_GUARD_HOSTS), and only to loopback', async () => {
    const { out, log } = await inChild(`
      import dns from 'node:dns';
      process.env.${GUARD_HOSTS_ENV} = 'myacr.azurecr.io=127.0.0.1,evil.example=10.0.0.1';
      const look = (h) => dns.promises.lookup(h).then((a) => a.address, (e) => e.message);
      console.log(JSON.stringify({ mapped: await look('myacr.azurecr.io'), evil: await look('evil.example') }));
    `);
    const r = JSON.parse(out) as { mapped: string; evil: string };
    expect(r.mapped).toBe('127.0.0.1');
    expect(r.evil).toMatch(/Blocked by the test network guard: DNS lookup of evil\.example/);
    expect(log).toMatch(/refused DNS lookup of evil\.example/);
  });

  it('lets loopback through', async () => {
    const { out, log } = await inChild(`
      import net from 'node:net';
      const srv = net.createServer((s) => s.end()).listen(0, '127.0.0.1');
      await new Promise((r) => srv.once('listening', r));
      const port = srv.address().port;
      const res = await new Promise((r) => { const s = net.connect({ host: '127.0.0.1', port }); s.on('connect', () => { s.destroy(); r('connected'); }); s.on('error', (e) => r(e.message)); });
      srv.close();
      console.log(res);
    `);
    expect(out).toBe('connected');
    expect(log).toBe('');
  });
});
