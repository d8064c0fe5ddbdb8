// What a registry may print: its error messages and the strings of its manifests reach the
// terminal and CI logs without escape sequences, forged workflow commands or floods; and logs of
// bundled libraries (AZURE_LOG_LEVEL, NODE_DEBUG) pass the redactor like ours.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { pushImage, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { cleanEnv, cli } from '../import/helpers.js';
import { startHostile } from './hostile.js';

const open = inject('openRegistry');
const FORGED = '\u001b[2J\u001b[H\u001b]0;owned\u0007bad manifest\r\n::set-output name=token::forged\n##vso[task.setvariable variable=x]y\u0000\u009b31m';
const ROOT = join(import.meta.dirname, '..', '..');

function expectClean(text: string): void {
  expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/); // no ESC, CR, NUL, BEL, C1 (newlines are ours)
  expect(text).not.toMatch(/^\s*::/m);
  expect(text).not.toContain('##vso[');
}

describe('registry text shown to users', () => {
  it('an error message is stripped of control characters and workflow commands, and capped', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const registry = await stopAfterAll(
      startHostile((req, res) => {
        if (req.path === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        if (req.method === 'HEAD') return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digest, 'content-length': '300' }).end();
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: `${FORGED}${'A'.repeat(60_000)}` }] }));
      }),
    );
    const r = await cli(['-n', open.host, '--source', `${registry.host}/r:v1`, '-t', `${uniqueRepo('security/text')}:v1`]);
    expect(r.code).not.toBe(0);
    // One line: the forged command is no longer at a line start, and the Azure Pipelines prefix is broken.
    expect(r.stderr).toMatch(/MANIFEST_INVALID: bad manifest ::set-output name=token::forged # #vso\[task/);
    expect(r.stderr).toMatch(/… \(cut: \d+ characters in all\)/);
    expectClean(r.stderr);
    expect(r.stderr.length).toBeLessThan(2_000);
  });

  it('platform strings of a manifest print without escape sequences or forged commands (--dry-run plan)', async () => {
    const repo = uniqueRepo('security/platform');
    await pushImage(open, repo, 'v1', {
      kind: 'index',
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: `linux${FORGED}`, architecture: 'arm64' },
      ],
    });
    const r = await cli(['-n', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${repo}-copy:v1`, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/linux\/amd64/);
    expect(r.stderr).toMatch(/bad manifest/);
    expectClean(r.stderr);
  });
});

/** The built CLI in a child process, with `env` (library log switches are read at start). */
function runBundle(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/acr-import.js'), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

describe('logs of bundled libraries', () => {
  it('NODE_DEBUG=undici,fetch lines pass the redactor: a blob store\'s signature never prints', async () => {
    const repo = uniqueRepo('security/libdebug');
    await pushImage(open, repo, 'v1', { kind: 'image' });
    // The blob GETs are redirected to a "blob store" URL carrying a signature.
    const store = await stopAfterAll(
      startHostile(async (req, res) => {
        const upstream = await fetch(`${open.url}${req.path.replace(/\?.*$/, '')}`);
        res.writeHead(upstream.status, { 'content-type': 'application/octet-stream' }).end(Buffer.from(await upstream.arrayBuffer()));
      }),
    );
    const registry = await stopAfterAll(
      startHostile(async (req, res) => {
        if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.path)) {
          return void res.writeHead(307, { location: `${store.url}${req.path}?sv=1&sig=BlobStoreSignature123` }).end();
        }
        const upstream = await fetch(`${open.url}${req.path}`, { method: req.method, headers: { accept: String(req.headers.accept ?? '*/*') } });
        const headers: Record<string, string> = {};
        upstream.headers.forEach((v, k) => {
          if (!['content-encoding', 'transfer-encoding', 'connection'].includes(k)) headers[k] = v;
        });
        res.writeHead(upstream.status, headers).end(req.method === 'HEAD' ? undefined : Buffer.from(await upstream.arrayBuffer()));
      }),
    );
    const env = cleanEnv({ NODE_DEBUG: 'undici,fetch' });
    const r = await runBundle(['-n', open.host, '--source', `${registry.host}/${repo}:v1`, '-t', `${repo}-copy:v1`, '--debug'], env);
    expect(r.code, r.stderr).toBe(0);
    // undici logged the signed URL itself (its own lines, not our --debug trace), redacted.
    expect(r.stderr).toMatch(/^FETCH \d+: received response to GET http:\/\/127\.0\.0\.1:\d+\/v2\/.*\?sv=1&sig=\*\*\* - HTTP 200$/m);
    expect(r.stderr).not.toContain('BlobStoreSignature123');
  });

  it('AZURE_LOG_LEVEL=verbose lines of the Azure SDK pass the redactor', async () => {
    const { routeAzureLogger } = await import('../../src/transport/library-logs.js');
    const { createClientLogger, setLogLevel } = await import('@azure/logger');
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await routeAzureLogger();
      setLogLevel('verbose');
      createClientLogger('identity').verbose('Request: %s', JSON.stringify({ accessToken: 'SdkAccessToken789', url: 'https://x.blob.core.windows.net/c?sig=SdkSig' }));
    } finally {
      process.stderr.write = write;
      setLogLevel(undefined as never);
    }
    const out = written.join('');
    expect(out).toMatch(/azure:identity:verbose Request/);
    expect(out).not.toContain('SdkAccessToken789');
    expect(out).not.toContain('SdkSig');
  });
});
