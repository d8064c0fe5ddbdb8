/**
 * Launches a real CNCF Distribution registry (Debian's `docker-registry`, v2.8)
 * on a free loopback port with a generated config in a temp dir.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { createTestCA, issueServerCert, type TestCA } from './pki.js';
import { LOOPBACK, findExecutable, getFreePort, makeTempDir, removeTempDir, spawnManaged, waitForHttp, type ManagedProcess } from './util.js';

export const TEST_USERNAME = 'testuser';
export const TEST_PASSWORD = 'testpass';

export type RegistryAuth =
  | { kind: 'none' }
  /** Basic auth from a bcrypt htpasswd file; defaults to testuser/testpass. */
  | { kind: 'htpasswd'; users?: Record<string, string>; realm?: string }
  /**
   * Docker token auth. `service` defaults to the registry's own "127.0.0.1:PORT".
   * `rootCertBundle` is the PEM of the cert whose key signs tokens.
   */
  | { kind: 'token'; realm: string; service?: string; issuer: string; rootCertBundle: string };

export interface StartRegistryOptions {
  auth?: RegistryAuth;
  /** true: a fresh test CA is made; or pass a CA to share one between servers. */
  tls?: boolean | { ca: TestCA };
  /** http.relativeurls: Location headers become relative ("/v2/..."). */
  relativeUrls?: boolean;
  /** Fixed port (default: a free one). */
  port?: number;
  /** Disable `storage.delete` (default enabled). */
  deleteEnabled?: boolean;
  /** storage.maintenance.readonly: pushes are refused with 405/503-ish errors. */
  readOnly?: boolean;
  /** Extra YAML-able keys merged into the top level of the generated config (shallow). */
  extraConfig?: Record<string, unknown>;
  /** How long to wait for GET /v2/ to answer. */
  startTimeoutMs?: number;
}

export interface RunningRegistry {
  /** e.g. "http://127.0.0.1:41234" (no trailing slash). */
  url: string;
  /** "127.0.0.1:PORT", i.e. the docker reference host. */
  host: string;
  port: number;
  scheme: 'http' | 'https';
  /** PEM of the CA that signed the TLS certificate (TLS only). */
  caPem?: string;
  /** File holding caPem (for NODE_EXTRA_CA_CERTS / skopeo --cert-dir style use). */
  caPath?: string;
  /** The CA object, to issue more certs from it. */
  ca?: TestCA;
  /** Credentials for htpasswd registries. */
  credentials?: { username: string; password: string };
  /** Token-auth service name (the `aud` tokens need). */
  service?: string;
  configPath: string;
  storageDir: string;
  /** Last output of the registry process (log level error, so usually empty). */
  logs(): string;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'docker-registry (CNCF Distribution 2.8) is not installed: install it with `sudo apt-get install -y docker-registry` (Debian package docker-registry)';

/** Locates docker-registry (/usr/bin first, then PATH); the arguments exist for the self-test. */
export function findRegistryBinary(preferred = '/usr/bin/docker-registry', searchPath = process.env.PATH ?? ''): string {
  const bin = findExecutable('docker-registry', preferred, searchPath);
  if (!bin) throw new Error(INSTALL_HINT);
  return bin;
}

/** Minimal YAML emitter: every scalar is JSON-quoted, which YAML reads as a double-quoted string. */
function toYaml(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    return value.map((v) => (isObj(v) || Array.isArray(v) ? `${indent}-\n${toYaml(v, indent + '  ')}` : `${indent}- ${scalar(v)}\n`)).join('');
  }
  if (isObj(value)) {
    let out = '';
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (isObj(v) || Array.isArray(v)) out += `${indent}${k}:\n${toYaml(v, indent + '  ')}`;
      else out += `${indent}${k}: ${scalar(v)}\n`;
    }
    return out;
  }
  return `${indent}${scalar(value)}\n`;
}
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const scalar = (v: unknown) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(String(v)));

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const bin = findRegistryBinary();
  const dir = makeTempDir('registry');
  try {
    const storageDir = join(dir, 'storage');
    mkdirSync(storageDir);
    const auth = opts.auth ?? { kind: 'none' };

    let ca: TestCA | undefined;
    let tlsFiles: { certificate: string; key: string } | undefined;
    if (opts.tls) {
      ca = opts.tls === true ? await createTestCA(dir) : opts.tls.ca;
      const cert = await issueServerCert(ca, dir, { name: 'registry' });
      tlsFiles = { certificate: cert.certPath, key: cert.keyPath };
    }

    let credentials: { username: string; password: string } | undefined;
    let authConfig: Record<string, unknown> | undefined;
    if (auth.kind === 'htpasswd') {
      const users = auth.users ?? { [TEST_USERNAME]: TEST_PASSWORD };
      const lines = Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 5)}`);
      const htpasswdPath = join(dir, 'htpasswd');
      writeFileSync(htpasswdPath, lines.join('\n') + '\n');
      authConfig = { htpasswd: { realm: auth.realm ?? 'acr-import-test', path: htpasswdPath } };
      const [first] = Object.entries(users);
      if (first) credentials = { username: first[0], password: first[1] };
    }

    const maxAttempts = opts.port ? 1 : 4;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const port = opts.port ?? (await getFreePort());
      const host = `${LOOPBACK}:${port}`;
      let service: string | undefined;
      if (auth.kind === 'token') {
        service = auth.service ?? host;
        authConfig = { token: { realm: auth.realm, service, issuer: auth.issuer, rootcertbundle: auth.rootCertBundle } };
      }
      const config: Record<string, unknown> = {
        version: '0.1',
        log: { level: 'error', accesslog: { disabled: true } },
        storage: {
          filesystem: { rootdirectory: storageDir },
          delete: { enabled: opts.deleteEnabled ?? true },
          maintenance: { uploadpurging: { enabled: false }, ...(opts.readOnly ? { readonly: { enabled: true } } : {}) },
        },
        http: {
          addr: host,
          secret: randomBytes(16).toString('hex'),
          relativeurls: opts.relativeUrls ?? false,
          draintimeout: '1s',
          headers: { 'X-Content-Type-Options': ['nosniff'] },
          ...(tlsFiles ? { tls: tlsFiles } : {}),
        },
        health: { storagedriver: { enabled: false } },
        // Foreign / non-distributable layers carry `urls`; without an allow list 2.8 rejects such manifests.
        validation: { manifests: { urls: { allow: ['^https?://'] } } },
        ...(authConfig ? { auth: authConfig } : {}),
        ...opts.extraConfig,
      };
      const configPath = join(dir, `config-${port}.yml`);
      writeFileSync(configPath, toYaml(config));

      const proc: ManagedProcess = spawnManaged(bin, ['serve', configPath], { cwd: dir });
      let dead = false;
      void proc.exited.then(() => {
        dead = true;
      });
      const scheme = tlsFiles ? 'https' : 'http';
      const url = `${scheme}://${host}`;
      try {
        await waitForHttp(`${url}/v2/`, { timeoutMs: opts.startTimeoutMs ?? 20_000, ca: ca?.certPem, isDead: () => dead });
      } catch (err) {
        await proc.stop();
        const out = proc.output();
        lastError = new Error(`docker-registry did not start on ${host}: ${(err as Error).message}\n${out}`);
        if (/address already in use/i.test(out)) continue;
        throw lastError;
      }
      let stopped: Promise<void> | undefined;
      return {
        url,
        host,
        port,
        scheme,
        caPem: ca?.certPem,
        caPath: ca?.certPath,
        ca,
        credentials,
        service,
        configPath,
        storageDir,
        logs: proc.output,
        stop: () => {
          stopped ??= (async () => {
            await proc.stop();
            // A CA passed in by the caller lives in the caller's dir, so removing ours is safe.
            removeTempDir(dir);
          })();
          return stopped;
        },
      };
    }
    throw lastError ?? new Error('docker-registry did not start');
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }
}
