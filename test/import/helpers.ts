// Shared plumbing for the import command tests: run the CLI in-process, and check what landed in
// a registry with tools that are not ours (skopeo, plain HTTP).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, Readable } from 'node:stream';
import { request } from 'undici';
import { expect } from 'vitest';
import { main } from '../../src/cli/main.js';
import { run, basicAuthHeader, type RecordedRequest } from '../harness/index.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as the one JSON object `-o json` promises (throws otherwise). */
  json(): ImportJson;
}

export interface ImportJson {
  schemaVersion: number;
  ok: boolean;
  source: string;
  sourceDigest: string;
  mediaType: string;
  target: string;
  targets: { reference: string; action: string; previous?: string }[];
  dryRun: boolean;
  upToDate: boolean;
  manifests: { digest: string; mediaType: string; platform?: string }[];
  manifestCount: number;
  blobs: { total: number; copied: number; mounted: number; skipped: number; foreignSkipped: number };
  bytesCopied: number;
  totalBytes: number;
  durationMs: number;
  rateLimit: { limit?: string; remaining: string } | null;
  locked: unknown[] | null;
}

/** A writable that keeps what the CLI printed (not a TTY, like CI). */
export class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** An environment without the variables that would change what the CLI does on its own. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env)) {
    if (/^ACR_IMPORT_|^AZURE_(?!TOKEN_CREDENTIALS$)|^DOCKER_CONFIG$|^REGISTRY_AUTH_FILE$|^CI$|^FORCE_COLOR$/.test(k)) delete env[k];
  }
  // No docker config or containers auth.json of the machine's user leaks in: empty ones unless a
  // test gives its own.
  env.DOCKER_CONFIG = emptyDockerConfig;
  env.REGISTRY_AUTH_FILE = join(emptyDockerConfig, 'auth.json');
  return { ...env, ...extra };
}
const emptyDockerConfig = mkdtempSync(join(tmpdir(), 'acr-import-test-dockercfg-'));

/** Runs `acr-import …args` in this process and captures both streams. */
export async function cli(args: string[], o: { env?: NodeJS.ProcessEnv; stdin?: string | Readable } = {}): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const stdin = typeof o.stdin === 'string' ? Readable.from([Buffer.from(o.stdin)]) : o.stdin;
  const code = await main(['node', 'acr-import', ...args], { stdout, stderr, env: o.env ?? cleanEnv(), stdin });
  return {
    code,
    stdout: stdout.text,
    stderr: stderr.text,
    json: () => JSON.parse(stdout.text) as ImportJson,
  };
}

/** Fails with the CLI's own words when it did not exit as expected. */
export function expectExit(r: CliResult, code: number): void {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`);
}

/** What a user sees on a failure: no stack frames, ever. */
export function expectNoStack(text: string): void {
  expect(text).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  expect(text).not.toMatch(/^\s+at (?:async )?\S+ \(|node:internal/m);
}

// --- independent checks ---------------------------------------------------------------------------

function creds(auth?: { username: string; password: string }): string[] {
  return auth ? ['--creds', `${auth.username}:${auth.password}`] : [];
}

/** The manifest bytes as skopeo reads them (`host/repo:tag` or `host/repo@digest`). */
export async function skopeoRaw(ref: string, auth?: { username: string; password: string }): Promise<Buffer> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', ...creds(auth), `docker://${ref}`]);
  return stdout;
}

/** Whether skopeo can read the manifest at all. */
export async function skopeoExists(ref: string, auth?: { username: string; password: string }): Promise<boolean> {
  return skopeoRaw(ref, auth).then(
    () => true,
    (err: Error) => {
      if (/manifest unknown|not found|MANIFEST_UNKNOWN|NAME_UNKNOWN/i.test(err.message)) return false;
      throw err;
    },
  );
}

/**
 * `skopeo copy --all` of the reference into a dir: skopeo checks every manifest and blob digest on
 * the way. Returns the file names it wrote (digest hex for blobs, manifest.json etc.).
 */
export async function skopeoCopyAll(ref: string, auth?: { username: string; password: string }): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'acr-import-skopeo-'));
  try {
    await run('skopeo', ['copy', '--all', '--quiet', '--src-tls-verify=false', ...(auth ? ['--src-creds', `${auth.username}:${auth.password}`] : []), `docker://${ref}`, `dir:${dir}`]);
    return readdirSync(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** HEAD a blob with plain HTTP (open or htpasswd registries). */
export async function blobStatus(baseUrl: string, repo: string, digest: string, auth?: { username: string; password: string }): Promise<number> {
  const res = await request(`${baseUrl}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', headers: auth ? { authorization: basicAuthHeader(auth.username, auth.password) } : {} });
  await res.body.dump();
  return res.statusCode;
}

/** GET a manifest by tag or digest with plain HTTP; undefined on 404. */
export async function rawManifest(baseUrl: string, repo: string, ref: string): Promise<Buffer | undefined> {
  const res = await request(`${baseUrl}/v2/${repo}/manifests/${ref}`, {
    headers: {
      accept: [
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json',
      ].join(', '),
    },
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode === 404) return undefined;
  if (res.statusCode !== 200) throw new Error(`GET manifest ${repo}:${ref} → ${res.statusCode}: ${body.toString().slice(0, 300)}`);
  return body;
}

/** Tags of a repository (empty when the repository does not exist). */
export async function listTags(baseUrl: string, repo: string): Promise<string[]> {
  const res = await request(`${baseUrl}/v2/${repo}/tags/list`);
  const body = await res.body.text();
  if (res.statusCode === 404) return [];
  return (JSON.parse(body) as { tags?: string[] | null }).tags ?? [];
}

/** DELETE a manifest by digest (the open registry allows deletes). */
export async function deleteManifest(baseUrl: string, repo: string, digest: string): Promise<void> {
  const res = await request(`${baseUrl}/v2/${repo}/manifests/${digest}`, { method: 'DELETE' });
  await res.body.dump();
  if (res.statusCode !== 202) throw new Error(`DELETE ${repo}@${digest} → ${res.statusCode}`);
}

// --- proxy records ------------------------------------------------------------------------------

/** Blob bytes sent to the registry: any PATCH, or a PUT to an upload session with a body. */
export function blobUploads(requests: RecordedRequest[]): RecordedRequest[] {
  return requests.filter(
    (r) => r.kind === 'upload' && (r.method === 'PATCH' || (r.method === 'PUT' && Number(r.requestHeaders['content-length'] ?? 0) > 0) || (r.method === 'PUT' && r.requestHeaders['transfer-encoding'] !== undefined)),
  );
}

/** One line per request, for failure messages. */
export function describeRequests(requests: RecordedRequest[]): string {
  return requests.map((r) => `${r.method} ${r.path} → ${r.status}`).join('\n');
}
