// What the machine's network setup asks of a CLI: private CAs through NODE_EXTRA_CA_CERTS, and
// proxies through HTTPS_PROXY / NO_PROXY. Both are read at process start, so the CLI runs as a
// real process here.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tunnel } from '../harness/http-forward.js';
import { pushImage, uniqueRepo } from '../harness/index.js';
import { cleanEnv } from './helpers.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/acr-import.js', import.meta.url).pathname;
const tls = inject('tlsRegistry');

/** A forward proxy that only tunnels (CONNECT), recording where to. */
let proxy: Server;
let proxyUrl = '';
const tunnels: string[] = [];
beforeAll(async () => {
  proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, client, head) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    tunnel(client, head, Number(port), host!);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => proxy.close(() => r())));

async function importTls(env: NodeJS.ProcessEnv) {
  const repo = uniqueRepo('tls-src');
  const image = await pushImage(tls, repo, 'v1', { kind: 'index', platforms: 2 });
  const dest = uniqueRepo('tls-dst');
  const { stderr } = await run(process.execPath, [BIN, '--name', tls.host, '--source', `${tls.host}/${repo}:v1`, '-t', `${dest}:v1`], { env });
  const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${tls.host}/${dest}:v1`], { encoding: 'buffer' });
  expect(Buffer.from(raw.stdout).equals(image.bytes)).toBe(true);
  return stderr;
}

describe('network setup', () => {
  it('trusts a private CA given in NODE_EXTRA_CA_CERTS', async () => {
    const stderr = await importTls(cleanEnv({ NODE_EXTRA_CA_CERTS: tls.caPath, CI: '1' }));
    expect(stderr).toMatch(/Imported/);
  });

  it('tunnels through HTTPS_PROXY, and not for hosts in NO_PROXY', async () => {
    tunnels.length = 0;
    await importTls(cleanEnv({ NODE_EXTRA_CA_CERTS: tls.caPath, HTTPS_PROXY: proxyUrl, CI: '1' }));
    expect(tunnels.length).toBeGreaterThan(0);
    expect(new Set(tunnels)).toEqual(new Set([tls.host]));
    tunnels.length = 0;
    await importTls(cleanEnv({ NODE_EXTRA_CA_CERTS: tls.caPath, HTTPS_PROXY: proxyUrl, NO_PROXY: '127.0.0.1', CI: '1' }));
    expect(tunnels).toEqual([]);
  });

});
