// Security properties a user relies on: least-privilege scopes, plain http only where allowed,
// secrets never printed.
import { describe, expect, inject, it } from 'vitest';
import { pushImage, startTokenRegistry, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { Transport } from '../../src/transport/http.js';
import { cli, expectExit } from '../import/helpers.js';

const open = inject('openRegistry');

describe('schemes', () => {
  it('uses plain http only for loopback and registries named insecure', async () => {
    const t = new Transport({ insecureRegistries: ['registry.lan:5000'] });
    expect(t.baseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(t.baseUrl('127.1.2.3')).toBe('http://127.1.2.3');
    expect(t.baseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(t.baseUrl('[::1]:5000')).toBe('http://[::1]:5000');
    expect(t.baseUrl('registry.lan:5000')).toBe('http://registry.lan:5000');
    expect(t.baseUrl('registry.lan:5001')).toBe('https://registry.lan:5001');
    expect(t.baseUrl('myregistry.azurecr.io')).toBe('https://myregistry.azurecr.io');
    expect(t.baseUrl('10.0.0.1:5000')).toBe('https://10.0.0.1:5000');
    await t.close();
  });
});

describe('token scopes', () => {
  it('asks for pull on the source and pull+push on the target, nothing more', async () => {
    const source = await stopAfterAll(startTokenRegistry());
    const target = await stopAfterAll(startTokenRegistry());
    const repo = uniqueRepo('src');
    await pushImage(source, repo, 'v1', { kind: 'index', platforms: 2 });
    source.tokenService.clear(); // the fixture push asked for push rights; only the import counts
    const dest = uniqueRepo('dst');
    const r = await cli([
      '--name', target.host, '--source', `${source.host}/${repo}:v1`, '-t', `${dest}:v1`,
      '-u', source.credentials!.username, '-p', source.credentials!.password,
      '--target-username', target.credentials!.username, '--target-password', target.credentials!.password,
    ]);
    expectExit(r, 0);
    const sourceScopes = new Set(source.tokenService.requests.flatMap((q) => q.scopes));
    const targetScopes = new Set(target.tokenService.requests.flatMap((q) => q.scopes));
    expect([...sourceScopes]).toEqual([`repository:${repo}:pull`]);
    expect([...targetScopes].sort()).toEqual([`repository:${dest}:pull`, `repository:${dest}:pull,push`]);
  });
});

describe('secrets', () => {
  it('never prints a password, a Basic string or a token, --debug included, even on failure', async () => {
    const reg = await stopAfterAll(startTokenRegistry());
    const repo = uniqueRepo('src');
    await pushImage(reg, repo, 'v1', { kind: 'image' });
    const { username, password } = reg.credentials!;
    const basic = Buffer.from(`${username}:${password}`).toString('base64');
    const ok = await cli(['--name', reg.host, '--source', `${reg.host}/${repo}:v1`, '-t', `${uniqueRepo('dst')}:v1`, '-u', username, '-p', password, '--target-username', username, '--target-password', password, '--debug', '-o', 'json']);
    expectExit(ok, 0);
    const wrong = await cli(['--name', open.host, '--source', `${reg.host}/${repo}:v1`, '-u', username, '-p', 'WrongSecret123', '--debug']);
    expectExit(wrong, 3);
    expect(ok.stderr).toContain('authorization: Bearer ***');
    expect(wrong.stderr).toContain('www-authenticate: Bearer realm=');
    for (const out of [ok.stderr + ok.stdout, wrong.stderr + wrong.stdout]) {
      expect(out).not.toContain(password);
      expect(out).not.toContain('WrongSecret123');
      expect(out).not.toContain(basic);
      expect(out).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
    }
  });
});
