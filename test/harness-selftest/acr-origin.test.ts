import { request } from 'undici';
import { describe, expect, inject, test } from 'vitest';
import { decodeJwt, parseChallenge, pushImage, startAcrOrigin, stopAfterAll, uniqueRepo } from '../harness/index.js';

const form = async (url: string, body: Record<string, string>) => {
  const res = await request(url, { method: 'POST', body: new URLSearchParams(body).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
};

describe('ACR-like origin (shared)', () => {
  test('exchange -> refresh token -> access token -> tags/list', async () => {
    const acr = inject('acrOrigin');
    const repo = uniqueRepo('selftest/acr');
    await pushImage(acr, repo, 'v1', { kind: 'image' }); // Basic testuser via the challenge realm

    const ping = await request(`${acr.url}/v2/`);
    await ping.body.dump();
    expect(ping.statusCode).toBe(401);
    expect(parseChallenge(ping.headers['www-authenticate'])?.params).toMatchObject({ realm: `${acr.url}/oauth2/token`, service: acr.host });

    const ex = await form(`${acr.url}/oauth2/exchange`, { grant_type: 'access_token', service: acr.service, tenant: 'harness-tenant', access_token: acr.entraToken });
    expect(ex.status).toBe(200);
    expect(Object.keys(ex.json)).toEqual(['refresh_token']);
    const tok = await form(`${acr.url}/oauth2/token`, { grant_type: 'refresh_token', service: acr.service, scope: `repository:${repo}:pull`, refresh_token: String(ex.json.refresh_token) });
    expect(tok.status).toBe(200);
    expect(Object.keys(tok.json)).toEqual(['access_token']); // no expires_in, like ACR
    const claims = decodeJwt(String(tok.json.access_token));
    expect(typeof claims.exp).toBe('number');
    const tags = await request(`${acr.url}/v2/${repo}/tags/list`, { headers: { authorization: `Bearer ${tok.json.access_token}` } });
    expect(await tags.body.json()).toEqual({ name: repo, tags: ['v1'] });
  });

  test('unknown Entra token is refused; null-GUID Basic with the configured refresh token works', async () => {
    const acr = inject('acrOrigin');
    const bad = await form(`${acr.url}/oauth2/exchange`, { grant_type: 'access_token', service: acr.service, access_token: 'not-an-accepted-token' });
    expect(bad.status).toBe(401);
    const repo = uniqueRepo('selftest/acrnull');
    const u = new URL(`${acr.url}/oauth2/token`);
    u.searchParams.set('service', acr.service);
    u.searchParams.set('scope', `repository:${repo}:pull,push`);
    const res = await request(u, { headers: { authorization: `Basic ${Buffer.from(`${acr.nullGuid}:${acr.refreshToken}`).toString('base64')}` } });
    expect(res.statusCode).toBe(200);
    const json = (await res.body.json()) as { access_token: string };
    expect(decodeJwt(json.access_token).access).toEqual([{ type: 'repository', name: repo, actions: ['pull', 'push'] }]);
    // anonymous token requests are refused (no anonymous pull)
    const anon = await request(u);
    await anon.body.dump();
    expect(anon.statusCode).toBe(401);
  });
});

describe('ACR-like origin (private)', () => {
  test('runtime token lifetime, strict expiry, Location rewrite, password grant', async () => {
    const acr = await stopAfterAll(startAcrOrigin({ accessTokenTtl: 1 }));
    acr.acceptAccessToken('entra-1');
    const repo = uniqueRepo('selftest/acrpriv');
    const pw = await form(`${acr.url}/oauth2/token`, { grant_type: 'password', service: acr.service, scope: `repository:${repo}:pull,push`, username: 'testuser', password: 'testpass' });
    expect(pw.status).toBe(200);
    const bearer = `Bearer ${pw.json.access_token}`;
    const up = await request(`${acr.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { authorization: bearer } });
    await up.body.dump();
    expect(up.statusCode).toBe(202);
    expect(String(up.headers.location).startsWith(`${acr.url}/v2/${repo}/blobs/uploads/`)).toBe(true);
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await request(`${acr.url}/v2/${repo}/tags/list`, { headers: { authorization: bearer } });
    await expired.body.dump();
    expect(expired.statusCode).toBe(401); // Distribution alone would still accept it for 60 s
    acr.setAccessTokenTtl(600);
    const ex = await form(`${acr.url}/oauth2/exchange`, { grant_type: 'access_token', service: acr.service, access_token: 'entra-1' });
    expect(ex.status).toBe(200);
    acr.revokeAccessToken('entra-1');
    expect((await form(`${acr.url}/oauth2/exchange`, { grant_type: 'access_token', service: acr.service, access_token: 'entra-1' })).status).toBe(401);
    expect(acr.requests.map((r) => `${r.endpoint}:${r.credential}:${r.status}`)).toEqual(['token:password:200', 'exchange:access_token:200', 'exchange:invalid:401']);
  });
});
