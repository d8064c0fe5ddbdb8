import { request } from 'undici';
import { describe, expect, inject, test } from 'vitest';
import { decodeJwt, parseChallenge, pushImage, startTokenRegistry, stopAfterAll, uniqueRepo } from '../harness/index.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function fetchToken(realm: string, service: string, scopes: string[], authorization?: string) {
  const u = new URL(realm);
  u.searchParams.set('service', service);
  for (const s of scopes) u.searchParams.append('scope', s);
  const res = await request(u, { headers: authorization ? { authorization } : {} });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

describe('token registry (shared)', () => {
  test('401 with a Bearer challenge; a service token pulls; anonymous token cannot push', async () => {
    const reg = inject('tokenRegistry');
    const repo = uniqueRepo('selftest/token');
    const pushed = await pushImage(reg, repo, 'v1', { kind: 'image' });

    const anon = await request(`${reg.url}/v2/${repo}/manifests/v1`);
    await anon.body.dump();
    expect(anon.statusCode).toBe(401);
    const ch = parseChallenge(anon.headers['www-authenticate']);
    expect(ch).toMatchObject({ scheme: 'bearer', params: { realm: reg.realm, service: reg.service, scope: `repository:${repo}:pull` } });

    // Anonymous token: pull only
    const anonTok = await fetchToken(reg.realm, reg.service, [`repository:${repo}:pull,push`]);
    expect(anonTok.status).toBe(200);
    expect(anonTok.json).toMatchObject({ expires_in: 300 });
    expect(anonTok.json.token).toBe(anonTok.json.access_token);
    expect(decodeJwt(String(anonTok.json.token)).access).toEqual([{ type: 'repository', name: repo, actions: ['pull'] }]);
    const pull = await request(`${reg.url}/v2/${repo}/manifests/v1`, {
      headers: { authorization: `Bearer ${anonTok.json.token}`, accept: pushed.mediaType },
    });
    expect(Buffer.from(await pull.body.arrayBuffer()).equals(pushed.bytes)).toBe(true);
    const push = await request(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${anonTok.json.token}` } });
    await push.body.dump();
    expect(push.statusCode).toBe(401);
    expect(String(push.headers['www-authenticate'])).toContain('error="insufficient_scope"');

    // testuser: pull+push; wrong password: 401
    const userTok = await fetchToken(reg.realm, reg.service, [`repository:${repo}:pull,push`], basic(reg.username, reg.password));
    expect(decodeJwt(String(userTok.json.token)).access).toEqual([{ type: 'repository', name: repo, actions: ['pull', 'push'] }]);
    const bad = await fetchToken(reg.realm, reg.service, [`repository:${repo}:pull`], basic(reg.username, 'wrong'));
    expect(bad.status).toBe(401);
  });
});

describe('token service (private)', () => {
  test('records requests, POST password + refresh_token grants, configurable expires_in', async () => {
    const reg = await stopAfterAll(startTokenRegistry({ tokenService: { expiresIn: 42 } }));
    const ts = reg.tokenService;
    const repo = uniqueRepo('selftest/tokpriv');
    await pushImage(reg, repo, 'v1', { kind: 'index', platforms: 3 });
    // The fixture client caches one token per scope set.
    expect(ts.requests.filter((r) => r.status === 200)).toHaveLength(1);
    expect(ts.requests[0]).toMatchObject({ method: 'GET', credential: 'basic', username: 'testuser', scopes: [`repository:${repo}:pull,push`] });
    ts.clear();

    const post = async (form: Record<string, string>) => {
      const res = await request(reg.realm, { method: 'POST', body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      return { status: res.statusCode, json: (await res.body.json()) as Record<string, string | number> };
    };
    const pw = await post({ grant_type: 'password', username: 'testuser', password: 'testpass', service: reg.service, scope: `repository:${repo}:pull`, client_id: 'selftest', access_type: 'offline' });
    expect(pw.status).toBe(200);
    expect(pw.json.expires_in).toBe(42);
    expect(pw.json.refresh_token).toBeTruthy();
    const rt = await post({ grant_type: 'refresh_token', refresh_token: String(pw.json.refresh_token), service: reg.service, scope: `repository:${repo}:pull` });
    expect(rt.status).toBe(200);
    const res = await request(`${reg.url}/v2/${repo}/tags/list`, { headers: { authorization: `Bearer ${rt.json.access_token}` } });
    expect(await res.body.json()).toEqual({ name: repo, tags: ['v1'] });
    const badRt = await post({ grant_type: 'refresh_token', refresh_token: 'nope', service: reg.service });
    expect(badRt.status).toBe(401);
    expect(ts.requests.map((r) => [r.grantType, r.credential, r.status])).toEqual([
      ['password', 'password', 200],
      ['refresh_token', 'refresh_token', 200],
      ['refresh_token', 'invalid', 401],
    ]);
    // never the secrets
    expect(JSON.stringify(ts.requests)).not.toContain('testpass');

    // Minted directly with push rights
    const token = reg.mintToken([{ type: 'repository', name: repo, actions: ['pull', 'push'] }]);
    const up = await request(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    await up.body.dump();
    expect(up.statusCode).toBe(202);
  });
});
