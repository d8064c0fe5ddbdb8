// Credentials follow only the registry's own challenge: a 401 from a redirect hop on another
// origin is that hop's refusal; a realm over plain http from an https registry is refused;
// credentials go to a realm on another host only over https; a tags page on another origin gets
// no token.
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { RegistryAuthenticator } from '../../src/auth/authenticator.js';
import { RegistryClient } from '../../src/content/registry/client.js';
import { Transport } from '../../src/transport/http.js';
import { faults, getManifest, pushImage, startProxy, startTokenRegistry, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { cli, expectExit } from '../import/helpers.js';
import { startHostile, type SeenRequest } from './hostile.js';

const open = inject('openRegistry');
const BASIC = { kind: 'basic' as const, username: 'victim', password: 'VictimSecret-42' };
const basicHeader = `Basic ${Buffer.from('victim:VictimSecret-42').toString('base64')}`;

afterEach(() => {
  delete process.env.TEST_NETWORK_GUARD_HOSTS;
});

const refuse = (challenge: string) => (_req: SeenRequest, res: import('node:http').ServerResponse) =>
  void res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}');
const tokenAnswer = (_req: SeenRequest, res: import('node:http').ServerResponse) =>
  void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"realm-token"}');

describe('a redirect hop on another origin', () => {
  it('that answers 401 is an error of that hop: the source\'s credentials never reach the realm it names', async () => {
    const source = await stopAfterAll(startTokenRegistry());
    const repo = uniqueRepo('security/hop');
    await pushImage(source, repo, 'v1', { kind: 'image' });
    // The blob store asks for credentials of its own, at a realm of its own.
    let hopOrigin = '';
    const hop = await stopAfterAll(startHostile((req, res) => (req.path.startsWith('/token') ? tokenAnswer(req, res) : refuse(`Bearer realm="${hopOrigin}/token",service="blobs"`)(req, res))));
    hopOrigin = hop.url;
    const front = await stopAfterAll(startProxy({ upstream: source.url, hook: (r) => (r.kind === 'blob' && r.method === 'GET' ? faults.redirect(`${hop.url}/blobs/${r.reference}`) : undefined) }));
    const { username, password } = source.credentials!;
    const r = await cli(['-n', open.host, '--source', `${front.host}/${repo}:v1`, '-t', `${repo}:v1`, '-u', username, '-p', password]);
    expectExit(r, 3);
    expect(r.stderr).toContain(hop.url.replace(/\/$/, ''));
    expect(r.stderr).toMatch(/another origin than 127\.0\.0\.1:\d+'s \(a redirect hop or an upload location\), answered HTTP 401/);
    expect(hop.requests.length).toBeGreaterThan(0);
    expect(hop.requests.some((q) => q.path.startsWith('/token'))).toBe(false);
    expect(hop.requests.some((q) => q.headers.authorization)).toBe(false);
    expect((await getManifest(open, repo, 'v1')).status).toBe(404);
  });

  it('is refused by the authenticator before any request, whatever its challenge names', async () => {
    const transport = new Transport();
    const sent: string[] = [];
    transport.observe({ onResponse: (req) => sent.push(req.url) });
    const auth = new RegistryAuthenticator(transport, 'http://127.0.0.1:9', '127.0.0.1:9', BASIC);
    await expect(auth.reauthorize(['repository:r:pull'], 'Basic realm="blobs"', 'http://127.0.0.2:9/blob?sig=x')).rejects.toThrow(/^http:\/\/127\.0\.0\.2:9, another origin than 127\.0\.0\.1:9's .*answered HTTP 401; credentials for 127\.0\.0\.1:9 are not sent there\.$/);
    expect(sent).toEqual([]);
    await transport.close();
  });
});

describe('token realms', () => {
  it('over plain http from an https registry are refused, with or without credentials', async () => {
    const realm = await stopAfterAll(startHostile(tokenAnswer));
    process.env.TEST_NETWORK_GUARD_HOSTS = 'secure.example.test=127.0.0.1,realm.example.test=127.0.0.1';
    const registry = await stopAfterAll(startHostile(refuse(`Bearer realm="http://realm.example.test:${realm.port}/token",service="secure"`), { name: 'secure.example.test' }));
    for (const credential of [BASIC, { kind: 'anonymous' as const }]) {
      const transport = new Transport({ ca: registry.caPem });
      const client = new RegistryClient(transport, registry.host, registry.host, credential);
      await expect(client.headManifest('r', 'v1')).rejects.toMatchObject({ kind: 'auth', message: expect.stringMatching(/served over https but names a token realm over plain http/) });
      await transport.close();
    }
    expect(realm.requests).toEqual([]);
  });

  it('on another host get Basic credentials and refresh tokens only over https', async () => {
    process.env.TEST_NETWORK_GUARD_HOSTS = 'reg.example.test=127.0.0.1,realm.example.test=127.0.0.1';
    const plainRealm = await stopAfterAll(startHostile(tokenAnswer));
    const plainRegistry = await stopAfterAll(startHostile(refuse(`Bearer realm="http://realm.example.test:${plainRealm.port}/token",service="reg"`)));
    const regHost = `reg.example.test:${plainRegistry.port}`;

    // Through the CLI: an insecure (http) registry naming an http realm elsewhere gets no password sent there.
    const r = await cli(['-n', open.host, '--source', `${regHost}/r:v1`, '--insecure-registry', regHost, '-u', BASIC.username, '-p', BASIC.password]);
    expectExit(r, 3);
    expect(r.stderr).toMatch(/names a token realm on another host over plain http .*credentials for reg\.example\.test:\d+ are not sent there/);
    expect(plainRealm.requests).toEqual([]);

    // A refresh token, the same.
    let transport = new Transport({ insecureRegistries: [regHost] });
    let client = new RegistryClient(transport, regHost, regHost, { kind: 'refresh-token', token: 'victim-refresh-token' });
    await expect(client.headManifest('r', 'v1')).rejects.toThrow(/another host over plain http/);
    await transport.close();
    expect(plainRealm.requests).toEqual([]);

    // Anonymous: nothing to leak, the realm is asked.
    transport = new Transport({ insecureRegistries: [regHost] });
    client = new RegistryClient(transport, regHost, regHost, { kind: 'anonymous' });
    await expect(client.headManifest('r', 'v1')).rejects.toThrow();
    await transport.close();
    expect(plainRealm.requests.map((q) => q.headers.authorization)).toEqual([undefined]);

    // Over https, the realm on another host gets the Basic credentials it asked for.
    const tlsRealm = await stopAfterAll(startHostile(tokenAnswer, { name: 'realm.example.test' }));
    const toTls = await stopAfterAll(startHostile(refuse(`Bearer realm="${tlsRealm.url}/token",service="reg"`)));
    const toTlsHost = `reg.example.test:${toTls.port}`;
    const caPath = `${tlsRealm.caPath}.copy.pem`;
    writeFileSync(caPath, tlsRealm.caPem!);
    transport = new Transport({ insecureRegistries: [toTlsHost], ca: tlsRealm.caPem });
    client = new RegistryClient(transport, toTlsHost, toTlsHost, BASIC);
    await expect(client.headManifest('r', 'v1')).rejects.toThrow(/HTTP 401/);
    await transport.close();
    expect(tlsRealm.requests.map((q) => q.headers.authorization)).toContain(basicHeader);
  });
});

describe('tags pagination', () => {
  it('sends no token to a Link: rel=next page on another origin, and keeps it for its own', async () => {
    const other = await stopAfterAll(startHostile((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"r","tags":["c"]}')));
    const registry = await stopAfterAll(
      startHostile((req, res) => {
        if (req.headers.authorization !== basicHeader) return refuse('Basic realm="registry"')(req, res);
        const second = req.path.includes('last=a');
        const link = second ? `<${other.url}/v2/r/tags/list?last=b&n=1>; rel="next"` : '</v2/r/tags/list?last=a&n=1>; rel="next"';
        res.writeHead(200, { 'content-type': 'application/json', link }).end(JSON.stringify({ name: 'r', tags: [second ? 'b' : 'a'] }));
      }),
    );
    const transport = new Transport();
    const client = new RegistryClient(transport, registry.host, registry.host, BASIC);
    expect(await client.listTags('r', { pageSize: 1 })).toEqual(['a', 'b', 'c']);
    await transport.close();
    expect(registry.requests.filter((q) => q.headers.authorization === basicHeader)).toHaveLength(2);
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
  });
});
