import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersAuthFiles } from '../../src/auth/containers-auth.js';
import { credentialFromUserPassword, dockerConfigCredential, removeDockerLogin, storeDockerLogin, type Credential } from '../../src/auth/docker-config.js';
import { AcrImportError } from '../../src/errors.js';

const NULL_GUID = '00000000-0000-0000-0000-000000000000';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

let root: string;
let binDir: string;
let logFile: string;
let counter = 0;

/**
 * A credential helper speaking the docker-credential-helpers protocol: `get`, server URL on stdin,
 * JSON on stdout; "credentials not found" + exit 1 when it has nothing. It logs "<name> <args> <url>".
 */
function helperScript(name: string): string {
  return `#!/bin/sh
url=$(cat)
echo "${name} $* $url" >> "$HELPER_LOG"
case "$url" in
  ghcr.io) echo '{"ServerURL":"ghcr.io","Username":"${name}-user","Secret":"${name}-secret"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"hub-user","Secret":"hub-secret"}' ;;
  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"identity-token"}' ;;
  acr.azurecr.io) echo '{"ServerURL":"acr.azurecr.io","Username":"${NULL_GUID}","Secret":"acr-refresh"}' ;;
  localhost:5000) echo '{"ServerURL":"localhost:5000","Username":"local","Secret":"local-secret"}' ;;
  empty.example) echo '{"ServerURL":"empty.example","Username":"","Secret":""}' ;;
  garbage.example) echo 'Username=u Secret=GARBAGE-SECRET' ;;
  broken.example) echo 'keychain is locked' >&2; exit 3 ;;
  leaky.example) echo '{"Username":"u","Secret":"LEAKED-SECRET"}'; echo 'half-done' >&2; exit 2 ;;
  slow.example) sleep 5; echo '{}' ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'acr-import-docker-config-'));
  binDir = join(root, 'bin');
  mkdirSync(binDir);
  logFile = join(root, 'helper.log');
  for (const name of ['test', 'other']) {
    const path = join(binDir, `docker-credential-${name}`);
    writeFileSync(path, helperScript(name));
    chmodSync(path, 0o755);
  }
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A fresh home with `~/.docker/config.json` holding `config` (a string is written as is). */
function setup(config?: unknown): { env: NodeJS.ProcessEnv; homedir: string; file: string } {
  const home = join(root, `home-${++counter}`);
  const dockerDir = join(home, '.docker');
  mkdirSync(dockerDir, { recursive: true });
  const file = join(dockerDir, 'config.json');
  if (config !== undefined) writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  const env: NodeJS.ProcessEnv = { PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}`, HOME: home, HELPER_LOG: logFile };
  return { env, homedir: home, file };
}

function lookup(registry: string, config?: unknown, extra: Record<string, unknown> = {}): Promise<Credential | undefined> {
  const { env, homedir } = setup(config);
  return dockerConfigCredential(registry, { env, homedir, ...extra });
}

async function rejection(p: Promise<unknown>): Promise<AcrImportError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AcrImportError);
    return err as AcrImportError;
  }
  throw new Error('expected a rejection');
}

function helperLog(): string[] {
  return existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n') : [];
}

describe('credentialFromUserPassword', () => {
  it.each([
    [undefined, undefined, { kind: 'anonymous' }],
    ['', '', { kind: 'anonymous' }],
    ['user', 'pass', { kind: 'basic', username: 'user', password: 'pass' }],
    ['user', 'pa:ss', { kind: 'basic', username: 'user', password: 'pa:ss' }],
    [NULL_GUID, 'refresh', { kind: 'refresh-token', token: 'refresh' }],
    [undefined, 'access', { kind: 'access-token', token: 'access' }],
    ['', 'access', { kind: 'access-token', token: 'access' }],
  ] as const)('%j / %j', (user, pass, expected) => {
    expect(credentialFromUserPassword(user, pass)).toEqual(expected);
  });

  it('refuses a username without a password', () => {
    expect(() => credentialFromUserPassword('user', undefined)).toThrow(/username \(user\) was given without a password/);
  });
});

describe('dockerConfigCredential: the config file', () => {
  it('is undefined when there is no config file', async () => {
    expect(await lookup('ghcr.io')).toBeUndefined();
  });

  it('is undefined when the home directory does not exist', async () => {
    expect(await dockerConfigCredential('ghcr.io', { env: {}, homedir: join(root, 'no-such-home') })).toBeUndefined();
  });

  it('reads $DOCKER_CONFIG/config.json in preference to ~/.docker', async () => {
    const { env, homedir } = setup({ auths: { 'ghcr.io': { auth: b64('home:home-secret') } } });
    const dir = join(root, `docker-config-${++counter}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: b64('dc:dc-secret') } } }));
    expect(await dockerConfigCredential('ghcr.io', { env: { ...env, DOCKER_CONFIG: dir }, homedir })).toEqual({
      kind: 'basic',
      username: 'dc',
      password: 'dc-secret',
    });
    expect(await dockerConfigCredential('ghcr.io', { env, homedir })).toEqual({ kind: 'basic', username: 'home', password: 'home-secret' });
  });

  it('is undefined when $DOCKER_CONFIG has no config.json', async () => {
    const { env, homedir } = setup({ auths: { 'ghcr.io': { auth: b64('home:x') } } });
    expect(await dockerConfigCredential('ghcr.io', { env: { ...env, DOCKER_CONFIG: join(root, 'nowhere') }, homedir })).toBeUndefined();
  });

  it('treats an empty file as an empty config', async () => {
    expect(await lookup('ghcr.io', '  \n')).toBeUndefined();
  });

  it('refuses invalid JSON, naming the file and not quoting its content', async () => {
    const { env, homedir, file } = setup(`{"auths": {"ghcr.io": {"auth": "${b64('u:TOPSECRET')}"`);
    const err = await rejection(dockerConfigCredential('ghcr.io', { env, homedir }));
    expect(err.kind).toBe('usage');
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/not valid JSON/);
    expect(err.message).not.toContain(b64('u:TOPSECRET'));
  });

  it.each([
    ['an array', '[]', /not a JSON object/],
    ['a string', '"x"', /not a JSON object/],
    ['auths that is not an object', '{"auths": []}', /"auths" .* is not a JSON object/],
    ['credHelpers that is not an object', '{"credHelpers": "x"}', /"credHelpers" .* is not a JSON object/],
  ])('refuses %s', async (_name, content, message) => {
    const { env, homedir, file } = setup(content);
    const err = await rejection(dockerConfigCredential('ghcr.io', { env, homedir }));
    expect(err.kind).toBe('usage');
    expect(err.message).toMatch(message);
    expect(err.message).toContain(file);
  });
});

describe('dockerConfigCredential: auths', () => {
  const basic = { kind: 'basic', username: 'user', password: 'pass' } as const;
  const entry = { auth: b64('user:pass') };

  it.each([
    ['ghcr.io', 'ghcr.io'],
    ['ghcr.io', 'https://ghcr.io'],
    ['ghcr.io', 'http://ghcr.io'],
    ['ghcr.io', 'https://ghcr.io/'],
    ['ghcr.io', 'https://ghcr.io/v1/'],
    ['ghcr.io', 'https://ghcr.io/v2/'],
    ['ghcr.io', 'ghcr.io/v2/'],
    ['ghcr.io', 'GHCR.IO'],
    ['GHCR.io', 'ghcr.io'],
    ['localhost:5000', 'localhost:5000'],
    ['localhost:5000', 'http://localhost:5000/v2/'],
    ['[::1]:5000', '[::1]:5000'],
    ['docker.io', 'https://index.docker.io/v1/'],
    ['docker.io', 'docker.io'],
    ['docker.io', 'index.docker.io'],
    ['docker.io', 'https://registry-1.docker.io/v2/'],
    ['registry-1.docker.io', 'https://index.docker.io/v1/'],
    ['index.docker.io', 'https://index.docker.io/v1/'],
  ])('registry %s finds key %s', async (registry, key) => {
    expect(await lookup(registry, { auths: { [key]: entry } })).toEqual(basic);
  });

  it.each([
    ['ghcr.io', 'ghcr.io.evil.com'],
    ['ghcr.io', 'https://ghcr.io.evil.com/'],
    ['ghcr.io', 'evilghcr.io'],
    ['ghcr.io', 'https://ghcr.io/other/path'],
    ['localhost:5000', 'localhost'],
    ['localhost', 'localhost:5000'],
    ['ghcr.io', 'https://index.docker.io/v1/'],
    ['docker.io', 'ghcr.io'],
  ])('registry %s does not match key %s', async (registry, key) => {
    expect(await lookup(registry, { auths: { [key]: entry } })).toBeUndefined();
  });

  it('prefers the exact key, and for Docker Hub the canonical key', async () => {
    expect(await lookup('ghcr.io', { auths: { 'https://ghcr.io': { auth: b64('a:1') }, 'ghcr.io': { auth: b64('b:2') } } })).toEqual({
      kind: 'basic',
      username: 'b',
      password: '2',
    });
    expect(await lookup('docker.io', { auths: { 'docker.io': { auth: b64('a:1') }, 'https://index.docker.io/v1/': { auth: b64('b:2') } } })).toEqual({
      kind: 'basic',
      username: 'b',
      password: '2',
    });
  });

  it.each([
    ['auth split at the first colon', { auth: b64('user:pa:ss:word') }, { kind: 'basic', username: 'user', password: 'pa:ss:word' }],
    ['auth with unicode', { auth: b64('üser:pässword') }, { kind: 'basic', username: 'üser', password: 'pässword' }],
    ['username/password fields', { username: 'u', password: 'p' }, { kind: 'basic', username: 'u', password: 'p' }],
    ['auth wins over fields', { auth: b64('a:b'), username: 'u', password: 'p' }, { kind: 'basic', username: 'a', password: 'b' }],
    ['identitytoken', { auth: b64('u:p'), identitytoken: 'idtok' }, { kind: 'refresh-token', token: 'idtok' }],
    ['identitytoken alone', { identitytoken: 'idtok' }, { kind: 'refresh-token', token: 'idtok' }],
    ['registrytoken', { registrytoken: 'access' }, { kind: 'access-token', token: 'access' }],
    ['ACR null-GUID user in auth', { auth: b64(`${NULL_GUID}:refresh`) }, { kind: 'refresh-token', token: 'refresh' }],
    ['ACR null-GUID user in fields', { username: NULL_GUID, password: 'refresh' }, { kind: 'refresh-token', token: 'refresh' }],
    ['password only', { auth: b64(':access') }, { kind: 'access-token', token: 'access' }],
    ['empty entry', {}, undefined],
    ['empty auth', { auth: '' }, undefined],
    ['username without password', { username: 'u' }, undefined],
    ['auth with empty password', { auth: b64('u:') }, undefined],
  ])('%s', async (_name, value, expected) => {
    expect(await lookup('ghcr.io', { auths: { 'ghcr.io': value } })).toEqual(expected);
  });

  it.each([
    ['no colon', b64('userpassword-SECRET')],
    ['not base64', '!!!not base64 SECRET!!!'],
  ])('refuses an auth with %s without quoting it', async (_name, auth) => {
    const { env, homedir, file } = setup({ auths: { 'ghcr.io': { auth } } });
    const err = await rejection(dockerConfigCredential('ghcr.io', { env, homedir }));
    expect(err.kind).toBe('usage');
    expect(err.message).toContain(file);
    expect(err.message).toContain('ghcr.io');
    expect(err.message).not.toContain(auth);
    expect(err.message).not.toContain('SECRET');
  });
});

describe('dockerConfigCredential: credential helpers', () => {
  it('runs credHelpers[registry] with `get` and the server URL on stdin', async () => {
    const before = helperLog().length;
    expect(await lookup('ghcr.io', { credHelpers: { 'ghcr.io': 'test' } })).toEqual({
      kind: 'basic',
      username: 'test-user',
      password: 'test-secret',
    });
    expect(helperLog().slice(before)).toEqual(['test get ghcr.io']);
  });

  it('prefers credHelpers over auths and credsStore', async () => {
    expect(
      await lookup('ghcr.io', { credHelpers: { 'ghcr.io': 'test' }, auths: { 'ghcr.io': { auth: b64('a:b') } }, credsStore: 'other' }),
    ).toEqual({ kind: 'basic', username: 'test-user', password: 'test-secret' });
  });

  it('prefers a real auths entry over credsStore', async () => {
    expect(await lookup('ghcr.io', { auths: { 'ghcr.io': { auth: b64('a:b') } }, credsStore: 'other' })).toEqual({
      kind: 'basic',
      username: 'a',
      password: 'b',
    });
  });

  it('uses credsStore when auths only has an empty placeholder', async () => {
    expect(await lookup('ghcr.io', { auths: { 'ghcr.io': {} }, credsStore: 'other' })).toEqual({
      kind: 'basic',
      username: 'other-user',
      password: 'other-secret',
    });
  });

  it('uses credsStore for registries that credHelpers does not name', async () => {
    expect(await lookup('ghcr.io', { credHelpers: { 'quay.io': 'test' }, credsStore: 'other' })).toEqual({
      kind: 'basic',
      username: 'other-user',
      password: 'other-secret',
    });
  });

  it('hands helpers https://index.docker.io/v1/ for Docker Hub', async () => {
    const before = helperLog().length;
    expect(await lookup('docker.io', { credsStore: 'test' })).toEqual({ kind: 'basic', username: 'hub-user', password: 'hub-secret' });
    expect(await lookup('registry-1.docker.io', { credHelpers: { 'https://index.docker.io/v1/': 'other' } })).toEqual({
      kind: 'basic',
      username: 'hub-user',
      password: 'hub-secret',
    });
    expect(await lookup('docker.io', { credHelpers: { 'docker.io': 'other' } })).toEqual({ kind: 'basic', username: 'hub-user', password: 'hub-secret' });
    expect(helperLog().slice(before)).toEqual([
      'test get https://index.docker.io/v1/',
      'other get https://index.docker.io/v1/',
      'other get https://index.docker.io/v1/',
    ]);
  });

  it.each([
    ['token.example', { kind: 'refresh-token', token: 'identity-token' }],
    ['acr.azurecr.io', { kind: 'refresh-token', token: 'acr-refresh' }],
    ['localhost:5000', { kind: 'basic', username: 'local', password: 'local-secret' }],
    ['empty.example', undefined],
    ['missing.example', undefined],
  ])('helper answer for %s', async (registry, expected) => {
    expect(await lookup(registry, { credsStore: 'test' })).toEqual(expected);
    expect(await lookup(registry, { credHelpers: { [registry]: 'test' } })).toEqual(expected);
  });

  it('does not fall back to auths when credHelpers says "credentials not found"', async () => {
    expect(await lookup('missing.example', { credHelpers: { 'missing.example': 'test' }, auths: { 'missing.example': { auth: b64('a:b') } } })).toBeUndefined();
  });

  it('names a helper that is not on PATH', async () => {
    const err = await rejection(lookup('ghcr.io', { credsStore: 'desktop-nonexistent' }));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('docker-credential-desktop-nonexistent');
    expect(err.message).toMatch(/not found on PATH/);
    expect(err.message).toContain('credsStore');
    expect(err.hint).toContain('docker-credential-desktop-nonexistent');
  });

  it('reports a failing helper with its message', async () => {
    const err = await rejection(lookup('broken.example', { credHelpers: { 'broken.example': 'test' } }));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('docker-credential-test');
    expect(err.message).toContain('keychain is locked');
  });

  it('leaves a failing helper\'s stdout (and the secret in it) out of the error', async () => {
    const err = await rejection(lookup('leaky.example', { credHelpers: { 'leaky.example': 'test' } }));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('half-done');
    expect(`${err.message} ${err.hint ?? ''}`).not.toContain('LEAKED-SECRET');
  });

  it('does not quote output that is not JSON (it may hold the secret)', async () => {
    const err = await rejection(lookup('garbage.example', { credsStore: 'test' }));
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/not JSON/);
    expect(err.message).not.toContain('GARBAGE-SECRET');
  });

  it('times out a helper that hangs', async () => {
    const started = Date.now();
    const err = await rejection(lookup('slow.example', { credsStore: 'test' }, { helperTimeoutMs: 300 }));
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/did not answer in time/);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it.each(['../test', 'a/b', '.hidden'])('refuses a helper name like %j', async (name) => {
    const err = await rejection(lookup('ghcr.io', { credsStore: name }));
    expect(err.kind).toBe('usage');
    expect(err.message).toContain(JSON.stringify(name));
  });

  it('ignores an empty credsStore', async () => {
    expect(await lookup('ghcr.io', { credsStore: '' })).toBeUndefined();
  });

  describe('with runHelper', () => {
    it('uses the given runner', async () => {
      const calls: string[] = [];
      const runHelper = async (helper: string, url: string): Promise<string> => {
        calls.push(`${helper} ${url}`);
        return JSON.stringify({ ServerURL: url, Username: 'r', Secret: 's' });
      };
      expect(await lookup('quay.io', { credsStore: 'fake' }, { runHelper })).toEqual({ kind: 'basic', username: 'r', password: 's' });
      expect(calls).toEqual(['fake quay.io']);
    });

    it('understands "credentials not found" as a rejection or as output', async () => {
      const reject = async (): Promise<string> => {
        throw Object.assign(new Error('exit status 1'), { stdout: 'credentials not found in native keychain\n' });
      };
      const resolve = async (): Promise<string> => 'credentials not found in native keychain\n';
      expect(await lookup('quay.io', { credsStore: 'fake' }, { runHelper: reject })).toBeUndefined();
      expect(await lookup('quay.io', { credsStore: 'fake' }, { runHelper: resolve })).toBeUndefined();
    });

    it('understands ENOENT as a missing helper', async () => {
      const runHelper = async (): Promise<string> => {
        throw Object.assign(new Error('spawn docker-credential-fake ENOENT'), { code: 'ENOENT' });
      };
      const err = await rejection(lookup('quay.io', { credHelpers: { 'quay.io': 'fake' } }, { runHelper }));
      expect(err.message).toMatch(/docker-credential-fake .*not found on PATH/);
      expect(err.message).toContain('credHelpers');
    });
  });
});

describe('storeDockerLogin / removeDockerLogin (acr-import login, logout)', () => {
  it('writes auths with base64 auth, mode 0600, keeping other entries and settings; logout removes only that entry', async () => {
    const { env, homedir, file } = setup({ auths: { 'ghcr.io': { auth: b64('g:h') } }, credsStore: 'test', proxies: { default: {} } });
    const stored = await storeDockerLogin('registry.example:5000', 'alice', 'pa:ss', { env, homedir });
    expect(stored).toEqual({ file, key: 'registry.example:5000' });
    const written = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(written).toEqual({ auths: { 'ghcr.io': { auth: b64('g:h') }, 'registry.example:5000': { auth: b64('alice:pa:ss') } }, credsStore: 'test', proxies: { default: {} } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // What was written is read back as the docker CLI would.
    expect(await dockerConfigCredential('registry.example:5000', { env, homedir })).toEqual({ kind: 'basic', username: 'alice', password: 'pa:ss' });
    expect(await removeDockerLogin('registry.example:5000', { env, homedir })).toEqual({ file, removed: true });
    expect((JSON.parse(readFileSync(file, 'utf8')) as { auths: unknown }).auths).toEqual({ 'ghcr.io': { auth: b64('g:h') } });
    expect(await removeDockerLogin('registry.example:5000', { env, homedir })).toEqual({ file, removed: false });
  });

  it('uses docker\'s key for Docker Hub, creates the file, and says when a credential helper answers first', async () => {
    const { env, homedir, file } = setup();
    await storeDockerLogin('docker.io', 'hub', 'tok', { env, homedir });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:tok') } } });
    const shadowed = setup({ credHelpers: { 'ghcr.io': 'test' } });
    expect((await storeDockerLogin('ghcr.io', 'u', 'p', { env: shadowed.env, homedir: shadowed.homedir })).shadowedBy).toBe('docker-credential-test (credHelpers)');
  });
});

describe('containersAuthFiles', () => {
  it('REGISTRY_AUTH_FILE alone; else $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json', () => {
    expect(containersAuthFiles({ REGISTRY_AUTH_FILE: '/a/auth.json', XDG_RUNTIME_DIR: '/run/user/1' }, '/home/u').map((f) => f.path)).toEqual(['/a/auth.json']);
    expect(containersAuthFiles({ XDG_RUNTIME_DIR: '/run/user/1' }, '/home/u').map((f) => f.path)).toEqual(['/run/user/1/containers/auth.json', '/home/u/.config/containers/auth.json']);
    expect(containersAuthFiles({}, '/home/u').map((f) => f.path)).toEqual(['/home/u/.config/containers/auth.json']);
  });
});
