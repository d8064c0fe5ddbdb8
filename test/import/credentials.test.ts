// Where credentials come from (flags, standard input, environment bound to a registry, docker
// config, containers auth.json), that each side gets its own, and that --debug shows none of them.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, inject, it } from 'vitest';
import { pushImage, startProxy, startRegistry, startTokenRegistry, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { cleanEnv, cli, expectExit, skopeoRaw } from './helpers.js';

const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');
const auth = { username: htpasswd.username, password: htpasswd.password };

function dockerConfig(auths: Record<string, { username: string; password: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'acr-import-dockercfg-'));
  const entries = Object.fromEntries(Object.entries(auths).map(([host, c]) => [host, { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') }]));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: entries }));
  return dir;
}

describe('source credentials', () => {
  it('-u/-p on an htpasswd registry', async () => {
    const src = await pushImage(htpasswd, uniqueRepo('cred/src-flags'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('cred/src-flags-dst');
    const r = await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-u', auth.username, '-p', auth.password, '-t', `${dst}:v1`]);
    expectExit(r, 0);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
  });

  it('--password-stdin reads the password from standard input', async () => {
    const src = await pushImage(htpasswd, uniqueRepo('cred/stdin'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('cred/stdin-dst');
    const r = await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-u', auth.username, '--password-stdin', '-t', `${dst}:v1`], {
      stdin: Readable.from([Buffer.from(`${auth.password}\n`)]),
    });
    expectExit(r, 0);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    // An empty standard input is a usage error, not an anonymous attempt.
    const empty = await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-u', auth.username, '--password-stdin', '-t', `${dst}:v2`], { stdin: '' });
    expectExit(empty, 2);
    expect(empty.stderr).toMatch(/standard input/);
  });

  it('environment variables ACR_IMPORT_SOURCE_USERNAME / _PASSWORD, bound by ACR_IMPORT_SOURCE_REGISTRY', async () => {
    const src = await pushImage(htpasswd, uniqueRepo('cred/src-env'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('cred/src-env-dst');
    const env = cleanEnv({ ACR_IMPORT_SOURCE_USERNAME: auth.username, ACR_IMPORT_SOURCE_PASSWORD: auth.password, ACR_IMPORT_SOURCE_REGISTRY: htpasswd.host });
    expectExit(await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-t', `${dst}:v1`], { env }), 0);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
  });
});

describe('environment credentials are bound to a registry', () => {
  // A script signs in to one registry (here the htpasswd one, as it would to Docker Hub), then
  // imports from another (a recording proxy in front of the open registry, as mcr.microsoft.com).
  const secret = `hub-token-${randomBytes(8).toString('hex')}`;
  const sent = (proxy: { requests: { requestHeaders: Record<string, string> }[] }) => proxy.requests.filter((q) => q.requestHeaders.authorization !== undefined);

  it('a token bound to one registry is never sent to another source', async () => {
    const other = await stopAfterAll(startProxy({ upstream: open.url }));
    const src = await pushImage(open, uniqueRepo('cred/bound-src'), 'v1', { kind: 'image' });
    const env = cleanEnv({ ACR_IMPORT_SOURCE_USERNAME: 'hub-user', ACR_IMPORT_SOURCE_PASSWORD: secret, ACR_IMPORT_SOURCE_REGISTRY: 'docker.io' });
    const r = await cli(['-n', open.host, '--source', `${other.host}/${src.repo}:v1`, '-t', `${uniqueRepo('cred/bound-dst')}:v1`], { env });
    expectExit(r, 0);
    expect(other.requests.length).toBeGreaterThan(0);
    expect(sent(other)).toEqual([]);
    expect(r.stderr).toContain(`are for docker.io (ACR_IMPORT_SOURCE_REGISTRY), so they are not sent to ${other.host}`);
    expect(r.stderr).not.toContain(secret);
  });

  it('unbound source variables are not used for any source, and a warning says how to bind them', async () => {
    const other = await stopAfterAll(startProxy({ upstream: open.url }));
    const src = await pushImage(open, uniqueRepo('cred/unbound-src'), 'v1', { kind: 'image' });
    const env = cleanEnv({ ACR_IMPORT_SOURCE_USERNAME: 'hub-user', ACR_IMPORT_SOURCE_PASSWORD: secret });
    const r = await cli(['-n', open.host, '--source', `${other.host}/${src.repo}:v1`, '-t', `${uniqueRepo('cred/unbound-dst')}:v1`], { env });
    expectExit(r, 0);
    expect(sent(other)).toEqual([]);
    expect(r.stderr).toContain(`Set ACR_IMPORT_SOURCE_REGISTRY=${other.host} to use them`);
    // -q prints errors only: the warning goes too.
    const quiet = await cli(['-n', open.host, '--source', `${other.host}/${src.repo}:v1`, '-t', `${uniqueRepo('cred/unbound-q')}:v1`, '-q'], { env });
    expectExit(quiet, 0);
    expect(quiet.stderr).toBe('');
  });

  it('Docker Hub names are one registry: ACR_IMPORT_TARGET_REGISTRY=index.docker.io matches docker.io, another host does not', async () => {
    const { environmentSecret } = await import('../../src/auth/keychain.js');
    const env = { ACR_IMPORT_TARGET_USERNAME: 'u', ACR_IMPORT_TARGET_PASSWORD: 'p', ACR_IMPORT_TARGET_REGISTRY: 'index.docker.io' };
    expect(environmentSecret('target', 'docker.io', env)).toEqual({ username: 'u', password: 'p' });
    expect(environmentSecret('target', 'ghcr.io', env).password).toBeUndefined();
    // Unbound, the target's are for the one target registry --name names.
    expect(environmentSecret('target', 'ghcr.io', { ACR_IMPORT_TARGET_PASSWORD: 'p' })).toEqual({ password: 'p' });
  });
});

describe('the containers auth.json (skopeo, podman), read after the docker config', () => {
  function authFile(dir: string, entries: Record<string, { username: string; password: string }>): string {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'auth.json');
    writeFileSync(file, JSON.stringify({ auths: Object.fromEntries(Object.entries(entries).map(([h, c]) => [h, { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') }])) }));
    return file;
  }

  it('REGISTRY_AUTH_FILE', async () => {
    const src = await pushImage(htpasswd, uniqueRepo('cred/authjson-src'), 'v1', { kind: 'image' });
    const file = authFile(mkdtempSync(join(tmpdir(), 'acr-import-authjson-')), { [htpasswd.host]: auth });
    const dst = uniqueRepo('cred/authjson-dst');
    const r = await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--debug'], { env: cleanEnv({ REGISTRY_AUTH_FILE: file }) });
    expectExit(r, 0);
    expect(r.stderr).toContain(`source credentials: ${file}`);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
  });

  it('$XDG_RUNTIME_DIR/containers/auth.json, and the docker config wins over it', async () => {
    const src = await pushImage(htpasswd, uniqueRepo('cred/xdg-src'), 'v1', { kind: 'image' });
    const runtime = mkdtempSync(join(tmpdir(), 'acr-import-xdg-'));
    authFile(join(runtime, 'containers'), { [htpasswd.host]: auth });
    const env = cleanEnv({ XDG_RUNTIME_DIR: runtime, REGISTRY_AUTH_FILE: undefined });
    expectExit(await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-t', `${uniqueRepo('cred/xdg-dst')}:v1`], { env }), 0);
    // A (wrong) docker config entry is read first.
    const wrong = cleanEnv({ XDG_RUNTIME_DIR: runtime, REGISTRY_AUTH_FILE: undefined, DOCKER_CONFIG: dockerConfig({ [htpasswd.host]: { username: auth.username, password: 'not-it' } }) });
    expectExit(await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-t', `${uniqueRepo('cred/xdg-wrong')}:v1`], { env: wrong }), 3);
  });
});

describe('target credentials', () => {
  it('--target-username / --target-password', async () => {
    const src = await pushImage(open, uniqueRepo('cred/t-flags-src'), 'v1', { kind: 'index', platforms: 2 });
    const dst = uniqueRepo('cred/t-flags');
    const r = await cli(['-n', htpasswd.host, '--source', `${open.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--target-username', auth.username, '--target-password', auth.password]);
    expectExit(r, 0);
    expect((await skopeoRaw(`${htpasswd.host}/${dst}:v1`, auth)).equals(src.bytes)).toBe(true);
  });

  it('--target-password-stdin', async () => {
    const src = await pushImage(open, uniqueRepo('cred/t-stdin-src'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('cred/t-stdin');
    const r = await cli(['-n', htpasswd.host, '--source', `${open.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--target-username', auth.username, '--target-password-stdin'], { stdin: auth.password });
    expectExit(r, 0);
    expect((await skopeoRaw(`${htpasswd.host}/${dst}:v1`, auth)).equals(src.bytes)).toBe(true);
  });

  it('environment variables ACR_IMPORT_TARGET_USERNAME / _PASSWORD', async () => {
    const src = await pushImage(open, uniqueRepo('cred/t-env-src'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('cred/t-env');
    const env = cleanEnv({ ACR_IMPORT_TARGET_USERNAME: auth.username, ACR_IMPORT_TARGET_PASSWORD: auth.password });
    expectExit(await cli(['-n', htpasswd.host, '--source', `${open.host}/${src.repo}:v1`, '-t', `${dst}:v1`], { env }), 0);
    expect((await skopeoRaw(`${htpasswd.host}/${dst}:v1`, auth)).equals(src.bytes)).toBe(true);
    // The target's variables are not used for the source.
    const src2 = await pushImage(htpasswd, uniqueRepo('cred/t-env-src2'), 'v1', { kind: 'image' });
    expectExit(await cli(['-n', open.host, '--source', `${htpasswd.host}/${src2.repo}:v1`, '-t', `${uniqueRepo('cred/t-env2')}:v1`], { env }), 3);
  });

  it('a docker config file (DOCKER_CONFIG with auths) for both sides', async () => {
    const src = await pushImage(htpasswd, uniqueRepo('cred/cfg-src'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('cred/cfg');
    const env = cleanEnv({ DOCKER_CONFIG: dockerConfig({ [htpasswd.host]: auth }) });
    // htpasswd → htpasswd: both sides read the same entry.
    const r = await cli(['-n', htpasswd.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--debug'], { env });
    expectExit(r, 0);
    expect(r.stderr).toMatch(/source credentials: docker config; target credentials: docker config/);
    expect((await skopeoRaw(`${htpasswd.host}/${dst}:v1`, auth)).equals(src.bytes)).toBe(true);
    // Flags win over the config file: a wrong password given on the command line is used, and fails.
    const wrong = await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-u', auth.username, '-p', 'not-it', '-t', `${uniqueRepo('cred/cfg-wrong')}:v1`], { env });
    expectExit(wrong, 3);
  });
});

describe('token registries and --debug', () => {
  it('anonymous source pull and Basic user push on a token registry; --debug shows no secret', async () => {
    const user = 'robot';
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const reg = await stopAfterAll(startTokenRegistry({ tokenService: { users: { [user]: password } } }));
    const src = await pushImage(reg, uniqueRepo('cred/token-src'), 'v1', { kind: 'index', platforms: 2 });
    const dst = uniqueRepo('cred/token-dst');
    reg.tokenService.clear();
    const r = await cli(['-n', reg.host, '--source', `${reg.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '--target-username', user, '--target-password', password, '--debug', '-o', 'json']);
    expectExit(r, 0);
    expect((await skopeoRaw(`${reg.host}/${dst}:v1`, { username: user, password })).equals(src.bytes)).toBe(true);
    // The source side asked anonymously for pull only; the target side as the user, for push.
    const reqs = reg.tokenService.requests;
    const anonymous = reqs.filter((q) => q.credential === 'anonymous');
    const basic = reqs.filter((q) => q.credential === 'basic');
    expect(anonymous.length).toBeGreaterThan(0);
    expect(anonymous.every((q) => q.scopes.every((s) => s.endsWith(':pull') && s.includes(src.repo)))).toBe(true);
    expect(basic.some((q) => q.scopes.some((s) => s === `repository:${dst}:pull,push` || s === `repository:${dst}:push,pull`))).toBe(true);
    expect(reqs.filter((q) => q.credential === 'invalid')).toEqual([]);
    // A same-registry import mounts; the JSON is on stdout even with --debug.
    expect(r.json().blobs.mounted).toBe(src.blobs.length);
    // --debug traced the exchange, and none of the secrets.
    expect(r.stderr).toMatch(/debug: .*authorization/i);
    expect(r.stderr).not.toContain(password);
    expect(r.stderr).not.toContain(Buffer.from(`${user}:${password}`).toString('base64'));
    expect(r.stderr).not.toMatch(/eyJ[\w-]{10,}/);
  });

  it('--debug with a Basic registry shows neither the password nor the Basic string', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const reg = await stopAfterAll(startRegistry({ auth: { kind: 'htpasswd', users: { alice: password } } }));
    const creds = { username: 'alice', password };
    const src = await pushImage({ url: reg.url, username: 'alice', password }, uniqueRepo('cred/debug-src'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('cred/debug-dst');
    const r = await cli(['-n', reg.host, '--source', `${reg.host}/${src.repo}:v1`, '-u', 'alice', '-p', password, '--target-username', 'alice', '--target-password', password, '-t', `${dst}:v1`, '--debug']);
    expectExit(r, 0);
    expect(r.stderr).toMatch(/authorization: Basic \*\*\*/i);
    expect(r.stderr).not.toContain(password);
    expect(r.stderr).not.toContain(Buffer.from(`alice:${password}`).toString('base64'));
    expect((await skopeoRaw(`${reg.host}/${dst}:v1`, creds)).equals(src.bytes)).toBe(true);
    // A failure with --debug keeps the secret out of the error path too.
    const bad = await cli(['-n', open.host, '--source', `${reg.host}/${src.repo}:v1`, '-u', 'alice', '-p', `${password}x`, '-t', `${uniqueRepo('cred/debug-bad')}:v1`, '--debug']);
    expectExit(bad, 3);
    expect(bad.stderr).not.toContain(password);
  });
});
