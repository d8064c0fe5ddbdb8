// Credentials from the docker CLI's config file (`$DOCKER_CONFIG/config.json` or
// `~/.docker/config.json`) and its credential helpers. Secrets never appear in messages.

import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir as osHomedir } from 'node:os';
import { dirname, join } from 'node:path';
import { AcrImportError } from '../errors.js';

export type Credential =
  | { kind: 'anonymous' }
  | { kind: 'basic'; username: string; password: string }
  /** docker `identitytoken`, or an ACR refresh token used with user 00000000-0000-0000-0000-000000000000 */
  | { kind: 'refresh-token'; token: string }
  /** a bearer access token given as a password with no username */
  | { kind: 'access-token'; token: string };

/** The user name ACR (and `az acr login --expose-token`) pairs with a refresh token. */
export const ACR_REFRESH_TOKEN_USER = '00000000-0000-0000-0000-000000000000';
/** The user name a credential helper returns when its secret is an identity (refresh) token. */
const IDENTITY_TOKEN_USER = '<token>';
/** The key the docker CLI uses for Docker Hub in `auths` and with credential stores. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];
const DEFAULT_HELPER_TIMEOUT_MS = 60_000;

/**
 * Turns `--username`/`--password` into a credential:
 * ACR's null-GUID user + password → refresh-token; password only → access-token;
 * both → basic; neither → anonymous. Empty strings count as not given.
 * A username without a password is refused (callers should check it first, with their own message).
 */
export function credentialFromUserPassword(username: string | undefined, password: string | undefined): Credential {
  const user = username === '' ? undefined : username;
  const pass = password === '' ? undefined : password;
  if (user !== undefined && pass === undefined) {
    throw new AcrImportError('usage', `a username (${user}) was given without a password`);
  }
  if (pass === undefined) return { kind: 'anonymous' };
  if (user === undefined) return { kind: 'access-token', token: pass };
  if (user === ACR_REFRESH_TOKEN_USER) return { kind: 'refresh-token', token: pass };
  return { kind: 'basic', username: user, password: pass };
}

export interface DockerConfigOptions {
  /** Environment for DOCKER_CONFIG and for running helpers (PATH); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Home directory for `~/.docker`; defaults to os.homedir(). */
  homedir?: string;
  /**
   * Runs `docker-credential-<helper> get` with `serverUrl` on stdin and resolves to its stdout.
   * On failure it rejects; an error whose message/stdout/stderr says "credentials not found"
   * means no credentials, and an error with `code: 'ENOENT'` means the helper is not installed.
   * (Resolving with a "credentials not found" text is also understood.) Defaults to execFile.
   */
  runHelper?: (helper: string, serverUrl: string) => Promise<string>;
  /** Timeout for the default helper runner; 60 s by default. */
  helperTimeoutMs?: number;
}

/**
 * Finds credentials for `registry` ('docker.io', 'ghcr.io', 'localhost:5000'; Docker Hub aliases are
 * understood) the way the docker CLI does: credHelpers[registry], then the `auths` entry, then credsStore.
 * Resolves to undefined when the config file or an entry does not exist.
 */
export async function dockerConfigCredential(registry: string, options: DockerConfigOptions = {}): Promise<Credential | undefined> {
  const env = options.env ?? process.env;
  return configFileCredential(dockerConfigFile(env, options.homedir), registry, options);
}

/** A credentials file in the docker config format (docker's config.json, containers' auth.json). */
export interface ConfigFile {
  path: string;
  /** How messages name it: 'the docker config file'. */
  label: string;
  /** The variable that moves it, for the hint when it is broken. */
  variable?: string;
}

/** `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json`. */
export function dockerConfigFile(env: NodeJS.ProcessEnv, homedir = osHomedir()): ConfigFile {
  const dir = env.DOCKER_CONFIG ? env.DOCKER_CONFIG : join(homedir, '.docker');
  return { path: join(dir, 'config.json'), label: 'the docker config file', variable: 'DOCKER_CONFIG' };
}

/**
 * Credentials for `registry` from one file in the docker config format: credHelpers[registry],
 * then the `auths` entry, then credsStore. Undefined when the file or an entry does not exist.
 */
export async function configFileCredential(file: ConfigFile, registry: string, options: DockerConfigOptions = {}): Promise<Credential | undefined> {
  const env = options.env ?? process.env;
  const config = await readConfig(file);
  if (config === undefined) return undefined;

  const hostname = normaliseRegistry(registry);
  const hub = DOCKER_HUB_HOSTS.includes(hostname);
  const hosts = hub ? DOCKER_HUB_HOSTS : [hostname];
  // What the docker CLI hands helpers as the server URL.
  const serverUrl = hub ? DOCKER_HUB_AUTH_KEY : hostname;
  const run = options.runHelper ?? ((helper: string, url: string) => execHelper(helper, url, env, options.helperTimeoutMs));

  // 1. credHelpers[registry]
  const credHelpers = objectField(config, 'credHelpers', file);
  if (credHelpers) {
    const key = findKey(credHelpers, hosts, hub);
    const helper = key === undefined ? undefined : credHelpers[key];
    if (typeof helper === 'string' && helper !== '') {
      return helperCredential(helper, serverUrl, run, file, 'credHelpers');
    }
  }

  // 2. auths
  const auths = objectField(config, 'auths', file);
  if (auths) {
    const key = findKey(auths, hosts, hub, (k) => hasCredentials(auths[k]));
    if (key !== undefined) {
      const credential = authsEntryCredential(auths[key], key, file);
      if (credential) return credential;
    }
  }

  // 3. credsStore
  const credsStore = config.credsStore;
  if (typeof credsStore === 'string' && credsStore !== '') {
    return helperCredential(credsStore, serverUrl, run, file, 'credsStore');
  }
  return undefined;
}

// --- acr-import login / logout --------------------------------------------------------------------

/**
 * Stores `username:password` for `registry` in the docker config's `auths` (base64 `auth`, as
 * `docker login` writes without a credential store), keeping every other entry and setting. The
 * file is written whole to a temporary file and renamed, readable by its owner only (0600).
 * Returns the file and the key written.
 */
export async function storeDockerLogin(registry: string, username: string, password: string, options: { env?: NodeJS.ProcessEnv; homedir?: string } = {}): Promise<{ file: string; key: string; shadowedBy?: string }> {
  const file = dockerConfigFile(options.env ?? process.env, options.homedir);
  const config = (await readConfig(file)) ?? {};
  const auths = { ...(objectField(config, 'auths', file) ?? {}) };
  const hostname = normaliseRegistry(registry);
  const hub = DOCKER_HUB_HOSTS.includes(hostname);
  // Replace the entry docker would read, if there is one; else use docker's own key.
  const key = findKey(auths, hub ? DOCKER_HUB_HOSTS : [hostname], hub) ?? (hub ? DOCKER_HUB_AUTH_KEY : hostname);
  auths[key] = { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
  await writeConfig(file.path, { ...config, auths });
  // A credential helper for the registry is read first: the new entry would not be used.
  const helpers = objectField(config, 'credHelpers', file);
  const helperKey = helpers ? findKey(helpers, hub ? DOCKER_HUB_HOSTS : [hostname], hub) : undefined;
  const shadowedBy = helperKey !== undefined ? `docker-credential-${String(helpers![helperKey])} (credHelpers)` : undefined;
  return { file: file.path, key, ...(shadowedBy ? { shadowedBy } : {}) };
}

/** Removes `registry`'s `auths` entries from the docker config. Resolves to whether there was one. */
export async function removeDockerLogin(registry: string, options: { env?: NodeJS.ProcessEnv; homedir?: string } = {}): Promise<{ file: string; removed: boolean }> {
  const file = dockerConfigFile(options.env ?? process.env, options.homedir);
  const config = await readConfig(file);
  const auths = config && objectField(config, 'auths', file);
  if (!config || !auths) return { file: file.path, removed: false };
  const hostname = normaliseRegistry(registry);
  const hub = DOCKER_HUB_HOSTS.includes(hostname);
  const rest = { ...auths };
  let removed = false;
  // Every spelling of the registry, so that no older entry is read in its place.
  for (let key = findKey(rest, hub ? DOCKER_HUB_HOSTS : [hostname], hub); key !== undefined; key = findKey(rest, hub ? DOCKER_HUB_HOSTS : [hostname], hub)) {
    delete rest[key];
    removed = true;
  }
  if (removed) await writeConfig(file.path, { ...config, auths: rest });
  return { file: file.path, removed };
}

async function writeConfig(path: string, config: JsonObject): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  // The mode given to writeFile is masked by the umask; the file holds secrets, so say it again.
  await chmod(temp, 0o600);
  await rename(temp, path);
}

// ---------------------------------------------------------------------------------------------

type JsonObject = Record<string, unknown>;

async function readConfig(file: ConfigFile): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await readFile(file.path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new AcrImportError('usage', `cannot read ${file.label} ${file.path}: ${(err as Error).message}`, { cause: err });
  }
  if (text.replace(/^\uFEFF/, '').trim() === '') return {}; // docker treats an empty file as an empty config
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    // JSON.parse messages quote the text near the error, which may be a secret: leave them out.
    throw new AcrImportError('usage', `${file.label} ${file.path} is not valid JSON`, {
      hint: `fix or remove the file${file.variable ? `, or point ${file.variable} elsewhere` : ''}`,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AcrImportError('usage', `${file.label} ${file.path} is not a JSON object`);
  }
  return parsed as JsonObject;
}

function objectField(config: JsonObject, name: string, file: ConfigFile): JsonObject | undefined {
  const value = config[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new AcrImportError('usage', `"${name}" in ${file.label} ${file.path} is not a JSON object`);
  }
  return value as JsonObject;
}

/** Whether two names are one registry ('docker.io' and 'index.docker.io' are; case does not matter). */
export function sameRegistry(a: string, b: string): boolean {
  const [x, y] = [normaliseRegistry(a), normaliseRegistry(b)];
  return x === y || (DOCKER_HUB_HOSTS.includes(x) && DOCKER_HUB_HOSTS.includes(y));
}

/** 'GHCR.io', 'https://ghcr.io/', 'ghcr.io/v2/' → 'ghcr.io' */
function normaliseRegistry(registry: string): string {
  return registry
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}

/**
 * The key of `obj` for one of `hosts`: `host`, `https://host`, `http://host`, each with or without a
 * trailing `/`, `/v1/` or `/v2/`. Exact spellings are tried first (Docker Hub's canonical key first),
 * then keys that differ only in case.
 */
function findKey(obj: JsonObject, hosts: string[], hub: boolean, usable: (key: string) => boolean = () => true): string | undefined {
  const keys = Object.keys(obj);
  const candidates: string[] = hub ? [DOCKER_HUB_AUTH_KEY] : [];
  for (const host of hosts) {
    for (const prefix of ['', 'https://', 'http://']) {
      for (const suffix of ['', '/', '/v1/', '/v2/', '/v1', '/v2']) candidates.push(`${prefix}${host}${suffix}`);
    }
  }
  for (const candidate of candidates) {
    if (Object.prototype.hasOwnProperty.call(obj, candidate) && usable(candidate)) return candidate;
  }
  const lower = new Set(candidates.map((c) => c.toLowerCase()));
  return keys.find((k) => lower.has(k.toLowerCase()) && usable(k));
}

/** An `auths` entry with something in it (with a credsStore, docker leaves empty `{}` placeholders). */
function hasCredentials(entry: unknown): boolean {
  if (entry === null || typeof entry !== 'object') return false;
  const e = entry as JsonObject;
  return ['auth', 'username', 'password', 'identitytoken', 'registrytoken'].some((f) => typeof e[f] === 'string' && e[f] !== '');
}

function authsEntryCredential(entry: unknown, key: string, file: ConfigFile): Credential | undefined {
  const e = entry as JsonObject;
  const str = (field: string): string | undefined => (typeof e[field] === 'string' && e[field] !== '' ? (e[field] as string) : undefined);

  const identityToken = str('identitytoken');
  if (identityToken !== undefined) return { kind: 'refresh-token', token: identityToken };
  const registryToken = str('registrytoken');
  if (registryToken !== undefined) return { kind: 'access-token', token: registryToken };

  let username = str('username');
  let password = str('password');
  const auth = str('auth');
  if (auth !== undefined) {
    const decoded = Buffer.from(auth.trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (!/^[A-Za-z0-9+/=_-]+$/.test(auth.trim()) || colon < 0) {
      throw new AcrImportError('usage', `the "auth" entry for ${key} in ${file.label} ${file.path} is not base64 of user:password`, {
        hint: `log in again (docker login ${key}) or fix the entry`,
      });
    }
    username = decoded.slice(0, colon) || undefined;
    password = decoded.slice(colon + 1) || undefined;
  }
  if (password === undefined) return undefined; // a username alone is no credential
  return credentialFromUserPassword(username, password);
}

async function helperCredential(
  helper: string,
  serverUrl: string,
  run: (helper: string, serverUrl: string) => Promise<string>,
  file: ConfigFile,
  setting: 'credHelpers' | 'credsStore',
): Promise<Credential | undefined> {
  const program = `docker-credential-${helper}`;
  if (/[/\\]/.test(helper) || helper.startsWith('.')) {
    throw new AcrImportError('usage', `"${setting}" in ${file.label} ${file.path} names an invalid credential helper ${JSON.stringify(helper)}`);
  }
  let stdout: string;
  try {
    stdout = await run(helper, serverUrl);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: unknown; stderr?: unknown; killed?: boolean; signal?: unknown; timedOut?: boolean };
    if (e.code === 'ENOENT') {
      throw new AcrImportError('auth', `the docker credential helper ${program} (from "${setting}" in ${file.path}) was not found on PATH`, {
        hint: `install ${program}, or remove "${setting}" from ${file.path}`,
        cause: err,
      });
    }
    const output = [e.stdout, e.stderr].filter((x): x is string => typeof x === 'string').join('\n');
    if (isNotFound(`${e.message ?? ''}\n${output}`)) return undefined;
    if (e.timedOut || e.killed) {
      throw new AcrImportError('auth', `the docker credential helper ${program} did not answer in time (for ${serverUrl})`, { cause: err });
    }
    // Only what the helper wrote to stderr: its stdout may hold the secret. execFile's message
    // ("Command failed: …") quotes both, so it is left out too.
    const detail = typeof e.stderr === 'string' ? firstLine(e.stderr) : '';
    throw new AcrImportError('auth', `the docker credential helper ${program} failed for ${serverUrl}${detail ? `: ${detail}` : ''}`, {
      cause: err,
    });
  }

  if (isNotFound(stdout) && !stdout.trim().startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    // Never quote the output: it may hold the secret.
    throw new AcrImportError('auth', `the docker credential helper ${program} printed something that is not JSON (for ${serverUrl})`);
  }
  if (parsed === null || typeof parsed !== 'object') {
    throw new AcrImportError('auth', `the docker credential helper ${program} printed something that is not a JSON object (for ${serverUrl})`);
  }
  const out = parsed as JsonObject;
  const username = typeof out.Username === 'string' && out.Username !== '' ? out.Username : undefined;
  const secret = typeof out.Secret === 'string' && out.Secret !== '' ? out.Secret : undefined;
  if (secret === undefined) return undefined;
  if (username === IDENTITY_TOKEN_USER) return { kind: 'refresh-token', token: secret };
  return credentialFromUserPassword(username, secret);
}

function isNotFound(text: string): boolean {
  return /credentials not found/i.test(text);
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '') ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Runs `docker-credential-<helper> get` with the server URL on stdin. */
function execHelper(helper: string, serverUrl: string, env: NodeJS.ProcessEnv, timeoutMs = DEFAULT_HELPER_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      `docker-credential-${helper}`,
      ['get'],
      { env, timeout: timeoutMs, maxBuffer: 1024 * 1024, windowsHide: true, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) {
          const e = error as Error & { stdout?: string; stderr?: string; timedOut?: boolean; killed?: boolean };
          e.stdout = stdout;
          e.stderr = stderr;
          if (e.killed) e.timedOut = true;
          reject(e);
          return;
        }
        resolve(stdout);
      },
    );
    child.stdin?.on('error', () => {
      // The helper exited without reading stdin (EPIPE); its exit status tells the story.
    });
    child.stdin?.end(serverUrl);
  });
}
