// Plumbing for the packaging tests: run built artifacts as a user would (child processes, clean
// environments), a fake managed-identity endpoint for the Entra sign-in, and checks with skopeo.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  files: string[];
  engines: { node: string };
  scripts: Record<string, string>;
  dependencies?: Record<string, string>;
};

export interface Exec {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end; never throws for a non-zero exit (tests look at `code`). */
export function exec(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Exec> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
      if (e && typeof e.code === 'string') {
        // The command could not be started at all.
        resolve({ code: null, signal: null, stdout, stderr: `${stderr}${e.message}`, ms: performance.now() - started });
        return;
      }
      resolve({ code: e ? ((e.code as number | undefined) ?? null) : 0, signal: e?.signal ?? null, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Throws with both streams when a command did not exit 0. */
export function ok(r: Exec, what: string): Exec {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code ?? r.signal}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`);
  return r;
}

const scratch: string[] = [];
/** A temp dir removed by {@link removeScratch} (call it in afterAll). */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `acr-import-pkg-${prefix}-`));
  scratch.push(dir);
  return dir;
}
export function removeScratch(): void {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * The machine's environment for npm and node, less whatever would steer the CLI (credentials,
 * Azure sign-in, colours) or npm (the variables `npm test` sets for its own package).
 */
export function toolEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env)) {
    if (/^(ACR_IMPORT_[A-Z_]*|AZURE_(?!TOKEN_CREDENTIALS$)[A-Z_]*|IDENTITY_[A-Z_]*|MSI_[A-Z_]*)$|^(DOCKER_CONFIG|CI|FORCE_COLOR|INIT_CWD)$|^npm_(package|lifecycle|command)/.test(k)) delete env[k];
  }
  env.DOCKER_CONFIG = emptyDockerConfig();
  return { ...env, ...extra };
}

/**
 * An environment with no node to be found: PATH is one empty directory, HOME and the docker
 * config are fresh. Nothing else of the machine's environment is passed.
 */
export function nodelessEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const base = scratchDir('nodeless');
  const bin = join(base, 'bin');
  const home = join(base, 'home');
  mkdirSync(bin);
  mkdirSync(home);
  return { PATH: bin, HOME: home, NO_COLOR: '1', DOCKER_CONFIG: emptyDockerConfig(), ...extra };
}

let dockerConfig: string | undefined;
function emptyDockerConfig(): string {
  dockerConfig ??= scratchDir('dockercfg');
  return dockerConfig;
}

export const sha256Digest = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The manifest bytes at `host/repo:tag` or `host/repo@digest`, as skopeo reads them. */
export async function skopeoRaw(ref: string, auth?: { username: string; password: string }): Promise<Buffer> {
  const r = ok(await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', ...(auth ? ['--creds', `${auth.username}:${auth.password}`] : []), `docker://${ref}`], { env: toolEnv() }), `skopeo inspect ${ref}`);
  // Manifests are JSON text; utf8 round-trips them byte for byte.
  return Buffer.from(r.stdout, 'utf8');
}

/** The index at `host/repo:tag` and each of its children carry the source's digests, as skopeo reads them. */
export async function expectIndexCopied(ref: string, image: { digest: string; children: { digest: string }[] }, auth?: { username: string; password: string }): Promise<void> {
  expect(sha256Digest(await skopeoRaw(ref, auth))).toBe(image.digest);
  const repo = ref.replace(/:[^:/]+$/, '');
  for (const child of image.children) {
    expect(sha256Digest(await skopeoRaw(`${repo}@${child.digest}`, auth))).toBe(child.digest);
  }
}


export interface FakeManagedIdentity {
  /** IDENTITY_ENDPOINT and IDENTITY_HEADER: what App Service gives a managed identity. */
  env: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string; AZURE_TOKEN_CREDENTIALS: string };
  /** Resources (audiences) asked for, with the header check result. */
  requests: { resource: string | null; headerOk: boolean }[];
  close(): Promise<void>;
}

/**
 * An App Service managed-identity endpoint on loopback that hands out `token`: with
 * IDENTITY_ENDPOINT/IDENTITY_HEADER set, DefaultAzureCredential (@azure/identity) asks it and
 * nothing else on the network.
 */
export async function startFakeManagedIdentity(token: string): Promise<FakeManagedIdentity> {
  const header = `fake-identity-header-${Math.random().toString(36).slice(2)}`;
  const requests: FakeManagedIdentity['requests'] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headerOk = req.headers['x-identity-header'] === header;
    requests.push({ resource: url.searchParams.get('resource'), headerOk });
    res.setHeader('content-type', 'application/json');
    if (!headerOk) {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: 'invalid_header' }));
      return;
    }
    res.end(
      JSON.stringify({
        access_token: token,
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource: url.searchParams.get('resource'),
        token_type: 'Bearer',
        client_id: '00000000-0000-0000-0000-000000000001',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    // The chain is pinned to the managed-identity leg, which this fake answers on loopback.
    env: { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`, IDENTITY_HEADER: header, AZURE_TOKEN_CREDENTIALS: 'ManagedIdentityCredential' },
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
