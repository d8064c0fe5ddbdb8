// ACR's refusals said as what they are: its firewall on a data endpoint, its storage refusing a
// layer download, a 403 to a HEAD (no reason given), and a push into a repository an Artifact
// Cache rule owns. The registry is the real one behind a recording proxy that answers as ACR does
// at the step under test; names like fwacr.azurecr.io resolve to it on loopback.
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GUARD_HOSTS_ENV } from '../harness/network-guard.mjs';
import { pushImage, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { listen, sendJson } from '../harness/util.js';
import { listTags } from '../import/helpers.js';
import { startNamedTlsFront } from '../security/hostile.js';
import { azureTestEnv, cli, cliChild, expectCode } from './helpers.js';

const open = inject('openRegistry');
const NAME_SIGNIN = 'signinacr.azurecr.io';
process.env[GUARD_HOSTS_ENV] = ['fwacr.azurecr.io', 'cacheacr.azurecr.io'].map((n) => `${n}=127.0.0.1`).join(',');

const FIREWALL = { errors: [{ code: 'DENIED', message: "client with IP '203.0.113.7' is not allowed access. Refer https://aka.ms/acr/firewall to grant access." }] };

// Where blob downloads are redirected: a data endpoint behind the firewall, or the registry's storage.
let endpoint: { url: string; close(): Promise<void> };
beforeAll(async () => {
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/data/')) return sendJson(res, 403, FIREWALL);
    const xml = '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationFailure</Code><Message>This request is not authorized to perform this operation.</Message></Error>';
    res.writeHead(403, { 'content-type': 'application/xml', 'x-ms-error-code': 'AuthorizationFailure', 'content-length': String(Buffer.byteLength(xml)) });
    res.end(xml);
  });
  const l = await listen(server);
  endpoint = { url: `http://${l.host}`, close: l.close };
});
afterAll(() => endpoint.close());

/** A proxy in front of the open registry, reached as <name>.azurecr.io:<port> over plain http. */
async function acrNamed(name: string, hook: Parameters<typeof startProxy>[0]['hook']) {
  const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook }));
  return { proxy, host: `${name}.azurecr.io:${proxy.port}` };
}

describe('ACR refusals', () => {
  it('a firewall 403 on a data endpoint ("client with IP … is not allowed access") is a network problem naming the firewall and the endpoints to allow', async () => {
    const repo = uniqueRepo('azure/firewall');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const { host } = await acrNamed('fwacr', (r) => (r.kind === 'blob' && r.method === 'GET' ? { kind: 'redirect', location: `${endpoint.url}/data/${r.reference}` } : undefined));
    const r = await cli(['-n', open.host, '--source', `${host}/${repo}:v1`, '-t', `${uniqueRepo('azure/firewall-dst')}:v1`, '--insecure-registry', host], { env: azureTestEnv() });
    expectCode(r, 8);
    expect(r.stderr).toMatch(/firewall does not allow this client \(IP 203\.0\.113\.7\)/);
    expect(r.stderr).toMatch(/not a credential problem/);
    expect(r.stderr).toContain('az acr network-rule add --ip-address 203.0.113.7');
    expect(r.stderr).toContain('must reach fwacr.azurecr.io, its data endpoints (fwacr.<region>.data.azurecr.io) and its storage (*.blob.core.windows.net)');
  });

  it("a storage 403 on a layer download (x-ms-error-code AuthorizationFailure) is a network problem naming the registry's storage and data endpoints", async () => {
    const repo = uniqueRepo('azure/storage');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const { host } = await acrNamed('fwacr', (r) => (r.kind === 'blob' && r.method === 'GET' ? { kind: 'redirect', location: `${endpoint.url}/storage/${r.reference}?sig=secret-sas` } : undefined));
    const r = await cli(['-n', open.host, '--source', `${host}/${repo}:v1`, '-t', `${uniqueRepo('azure/storage-dst')}:v1`, '--insecure-registry', host], { env: azureTestEnv() });
    expectCode(r, 8);
    expect(r.stderr).toMatch(/to its storage or data endpoint, which refused it \(HTTP 403 AuthorizationFailure\)/);
    expect(r.stderr).toContain('(*.blob.core.windows.net)');
    expect(r.stderr).not.toContain('secret-sas');
  });

  it('a 403 to a HEAD on an ACR names both causes: a missing role, or the firewall', async () => {
    const { host } = await acrNamed('fwacr', () => ({ kind: 'respond', status: 403, headers: { 'content-type': 'application/json' }, body: JSON.stringify(FIREWALL) }));
    const r = await cli(['-n', open.host, '--source', `${host}/any/repo:v1`, '--insecure-registry', host], { env: azureTestEnv() });
    expectCode(r, 3);
    expect(r.stderr).toMatch(/refused HEAD .* \(HTTP 403; a HEAD answer carries no reason\)/);
    expect(r.stderr).toMatch(/no role that allows it .* or the registry's firewall does not allow this client's IP/);
  });

  it('a push refused because an Artifact Cache rule owns the repository is said so, and nothing is tagged', async () => {
    const repo = uniqueRepo('azure/cache-src');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    const cached = uniqueRepo('azure/cached');
    const denied = { errors: [{ code: 'DENIED', message: `repository ${cached} is the target of cache rule 'mycacherule'; pushes are not allowed.` }] };
    const { host } = await acrNamed('cacheacr', (r) =>
      r.repo === cached && (r.kind === 'upload' || (r.kind === 'manifest' && r.method === 'PUT')) ? { kind: 'respond', status: 403, headers: { 'content-type': 'application/json' }, body: JSON.stringify(denied) } : undefined,
    );
    const r = await cli(['-n', host, '--source', `${open.host}/${repo}:v1`, '-t', `${cached}:v1`, '--insecure-registry', host, '--target-auth-mode', 'anonymous'], { env: azureTestEnv() });
    expectCode(r, 3);
    expect(r.stderr).toMatch(/the repository belongs to an Artifact Cache rule/);
    expect(r.stderr).toMatch(/Import into another repository/);
    expect(await listTags(open.url, cached)).toEqual([]);
  });

  it('a firewall 403 at sign-in (the token service, or the Entra ID exchange) is a network problem, not refused credentials', async () => {
    // An ACR whose firewall closes every endpoint: the challenge still comes, the sign-in is refused.
    let origin = '';
    const server = http.createServer((req, res) => {
      req.resume();
      if (req.url?.startsWith('/v2/')) {
        return sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] }, { 'www-authenticate': `Bearer realm="${origin}/oauth2/token",service="${NAME_SIGNIN}"` });
      }
      return sendJson(res, 403, FIREWALL);
    });
    const l = await listen(server);
    origin = `http://${l.host}`;
    // The exchange goes only over https: an https front under an ACR name, its realm rewritten to itself.
    const front = await startNamedTlsFront(origin, NAME_SIGNIN);
    try {
      const repo = uniqueRepo('azure/signin');
      await pushImage(open, repo, 'v1', { kind: 'image' });
      const env = azureTestEnv({ NODE_EXTRA_CA_CERTS: front.caPath, [GUARD_HOSTS_ENV]: `${NAME_SIGNIN}=127.0.0.1` });
      const base = ['-n', front.host, '--source', `${open.host}/${repo}:v1`, '--dry-run'];
      for (const args of [
        ['--target-username', 'someone', '--target-password', 'not-the-problem', '--target-auth-mode', 'docker'],
        ['--target-password', 'an-entra-access-token', '--target-auth-mode', 'entra'],
      ]) {
        const r = await cliChild([...base, ...args], env);
        expectCode(r, 8);
        expect(r.stderr).toMatch(/firewall does not allow this client \(IP 203\.0\.113\.7\)/);
        expect(r.stderr).toMatch(/not a credential problem/);
        expect(r.stderr).not.toMatch(/refused the credentials|refused the Entra ID token/);
        expect(r.stderr).not.toContain('not-the-problem');
      }
    } finally {
      await front.stop();
      await l.close();
    }
  });
});
