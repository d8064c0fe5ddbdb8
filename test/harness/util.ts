/**
 * Low-level plumbing shared by the harness servers: free ports, temp dirs,
 * child-process lifetime, small HTTP helpers. Nothing here is registry specific.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Agent, request } from 'undici';

/** Every server the harness binds listens here and nowhere else. */
export const LOOPBACK = '127.0.0.1';

// ---------------------------------------------------------------------------
// Last-resort cleanup. stop() functions are the normal path; this only catches
// children and temp dirs left behind when a test file crashes or forgets stop().
// ---------------------------------------------------------------------------
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const dir of liveDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

/**
 * Set by global setup to a per-run directory that its teardown removes
 * whole: the safety net for test workers that vitest ends without an 'exit'
 * event (their own temp dirs would otherwise stay behind).
 */
export const RUN_TMPDIR_ENV = 'ACR_IMPORT_HARNESS_TMPDIR';

/** Creates a temp dir that is removed by {@link removeTempDir} or, at the latest, at process exit / end of run. */
export function makeTempDir(prefix: string): string {
  installExitHook();
  const runDir = process.env[RUN_TMPDIR_ENV];
  const base = runDir && existsSync(runDir) ? runDir : tmpdir();
  const dir = mkdtempSync(join(base, `acr-import-${prefix}-`));
  liveDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  liveDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Asks the kernel for a free loopback port. There is a small race between
 * closing this socket and the real server binding; callers that spawn an
 * external process retry on "address already in use".
 */
export async function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Finds an executable on PATH (plus an explicit preferred location). */
export function findExecutable(name: string, preferred?: string, searchPath = process.env.PATH ?? ''): string | undefined {
  if (preferred && existsSync(preferred)) return preferred;
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface ManagedProcess {
  child: ChildProcess;
  /** Last ~64 KiB of stdout+stderr, for error messages. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

const setprivPath = findExecutable('setpriv', '/usr/bin/setpriv');

/**
 * Spawns a long-running child. When util-linux `setpriv` is available the child
 * gets PR_SET_PDEATHSIG=KILL, so a registry never outlives a test worker that
 * was SIGKILLed (the exit hook cannot run in that case).
 */
export function spawnManaged(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ManagedProcess {
  installExitHook();
  const [file, argv] = setprivPath ? [setprivPath, ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  let buf = '';
  const append = (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    if (buf.length > 65536) buf = buf.slice(-65536);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      liveChildren.delete(child);
      append(Buffer.from(String(err)));
      resolve({ code: -1, signal: null });
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null || !liveChildren.has(child)) {
        await exited;
        return;
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
  return { child, output: () => buf, exited, stop };
}

/** Runs a short command (openssl, skopeo) and returns stdout; rejects with stderr on failure. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 60_000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr.toString('utf8')}`));
        } else {
          resolve({ stdout, stderr: stderr.toString('utf8') });
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------
// Node http server helpers
// ---------------------------------------------------------------------------

export interface ListeningServer {
  server: http.Server;
  port: number;
  host: string;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 and returns a close() that also destroys open
 * keep-alive sockets (otherwise server.close() waits for clients to go away).
 */
export async function listen(server: http.Server, port = 0): Promise<ListeningServer> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    server,
    port: actual,
    host: `${LOOPBACK}:${actual}`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

export async function readBody(req: http.IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(data.length), ...headers });
  res.end(data);
}

/** Parses `Authorization: Basic ...`; returns undefined for anything else. */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+(.+)$/i.exec(header.trim());
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const idx = decoded.indexOf(':');
  if (idx < 0) return undefined;
  return { username: decoded.slice(0, idx), password: decoded.slice(idx + 1) };
}

export function basicAuthHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * Polls `url` until an HTTP response arrives (any status) or the timeout hits.
 * `isDead` lets the caller abort early when the child already exited.
 */
export async function waitForHttp(url: string, opts: { timeoutMs?: number; ca?: string; isDead?: () => boolean } = {}): Promise<number> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  const dispatcher = new Agent({ connect: opts.ca ? { ca: opts.ca } : {}, keepAliveTimeout: 1 });
  try {
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (opts.isDead?.()) throw new Error(`process exited before ${url} answered`);
      try {
        const res = await request(url, { dispatcher, headersTimeout: 2000, bodyTimeout: 2000 });
        await res.body.dump();
        return res.statusCode;
      } catch (err) {
        lastErr = err;
        await sleep(50);
      }
    }
    throw new Error(`timed out waiting for ${url}: ${String(lastErr)}`);
  } finally {
    await dispatcher.close();
  }
}
