// Every exit code a script can branch on, each from a real failure, each with a message and no
// stack trace.
import { describe, expect, inject, it } from 'vitest';
import { faults, getFreePort, pushImage, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { cli, expectExit, expectNoStack, type CliResult } from './helpers.js';

const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');
const token = inject('tokenRegistry');

const srcRepo = uniqueRepo('exit/src');
const image = await pushImage(open, srcRepo, 'v1', { kind: 'index', platforms: 2 });
const authRepo = uniqueRepo('exit/auth');
await pushImage(htpasswd, authRepo, 'v1', { kind: 'image' });

function failsWith(r: CliResult, code: number, message: RegExp): void {
  expectExit(r, code);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/^Error: /m);
  expectNoStack(r.stderr);
  expect(r.stdout).toBe('');
}

describe('exit codes', () => {
  it('0: success', async () => {
    const r = await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '-t', `${uniqueRepo('exit/ok')}:v1`]);
    expectExit(r, 0);
    expect(r.stderr).toContain(image.digest);
  });

  describe('2: usage', () => {
    it('a malformed source reference', async () => {
      failsWith(await cli(['-n', open.host, '--source', `${open.host}/Bad_Repo:v1`]), 2, /invalid image reference/);
      failsWith(await cli(['-n', open.host, '--source', `${open.host}/repo:bad tag`]), 2, /invalid image reference/);
    });

    it('a malformed target', async () => {
      failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '-t', 'UPPER:v1']), 2, /UPPER/);
      failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '--repository', 'repo:tag']), 2, /--repository/);
      // A registry host in a target would silently become part of the repository name.
      failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '-t', `${open.host}/copy:v1`]), 2, /registry host/);
      failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '--repository', 'myacr.azurecr.io/copy']), 2, /registry host/);
      failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '--repository', `${open.host}/copy`]), 2, /registry host/);
    });

    it('an unknown flag', async () => {
      const r = await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '--frobnicate']);
      expectExit(r, 2);
      expect(r.stderr).toMatch(/unknown option '--frobnicate'/);
      expectNoStack(r.stderr);
    });

    it('a missing required flag', async () => {
      const r = await cli(['--source', `${open.host}/${srcRepo}:v1`]);
      expectExit(r, 2);
      expect(r.stderr).toMatch(/--name/);
    });

    it("a username without a password: az's message", async () => {
      failsWith(await cli(['-n', open.host, '--source', `${htpasswd.host}/${authRepo}:v1`, '-u', 'testuser']), 2, /Authentication failed\. Please provide password\./);
      failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '--target-username', 'testuser']), 2, /Authentication failed\. Please provide password\./);
    });

    it('bad numbers and sizes', async () => {
      failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '--max-layer-size', 'huge']), 2, /--max-layer-size/);
      failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '--concurrency', '0']), 2, /--concurrency/);
    });
  });

  it('3: auth (htpasswd registry, wrong password)', async () => {
    const r = await cli(['-n', open.host, '--source', `${htpasswd.host}/${authRepo}:v1`, '-u', 'testuser', '-p', 'wrong-password', '-t', `${uniqueRepo('exit/auth-dst')}:v1`]);
    failsWith(r, 3, new RegExp(htpasswd.host.replace(/[.]/g, '\\.')));
    expect(r.stderr).not.toContain('wrong-password');
    // And on the target side.
    const t = await cli(['-n', htpasswd.host, '--source', `${open.host}/${srcRepo}:v1`, '-t', `${uniqueRepo('exit/auth-t')}:v1`, '--target-username', 'testuser', '--target-password', 'nope-nope']);
    failsWith(t, 3, /./);
    // No credentials at all for a registry that wants them.
    failsWith(await cli(['-n', open.host, '--source', `${htpasswd.host}/${authRepo}:v1`, '-t', `${uniqueRepo('exit/auth-anon')}:v1`]), 3, /./);
  });

  it('3: auth (token registry: anonymous push refused)', async () => {
    failsWith(await cli(['-n', token.host, '--source', `${open.host}/${srcRepo}:v1`, '-t', `${uniqueRepo('exit/token-anon')}:v1`]), 3, /./);
  });

  it('4: not found (missing tag, missing repository, missing digest)', async () => {
    const tag = await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:nope`]);
    failsWith(tag, 4, new RegExp(`${srcRepo}:nope`));
    failsWith(await cli(['-n', open.host, '--source', `${open.host}/${uniqueRepo('exit/none')}:v1`]), 4, /not found/);
    const missing = `sha256:${'0'.repeat(64)}`;
    failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}@${missing}`]), 4, new RegExp(missing));
  });

  it('5: limit', async () => {
    failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '--max-manifests', '1', '-t', `${uniqueRepo('exit/limit')}:v1`]), 5, /--max-manifests/);
  });

  it('6: conflict', async () => {
    const dst = uniqueRepo('exit/conflict');
    await pushImage(open, dst, 'v1', { kind: 'image' });
    failsWith(await cli(['-n', open.host, '--source', `${open.host}/${srcRepo}:v1`, '-t', `${dst}:v1`]), 6, /--force/);
  });

  it('7: transient (every request answered 503, --retries 1)', async () => {
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: () => faults.status(503) }));
    const started = Date.now();
    const r = await cli(['-n', proxy.host, '--source', `${open.host}/${srcRepo}:v1`, '-t', `${uniqueRepo('exit/503')}:v1`, '--retries', '1']);
    failsWith(r, 7, /503/);
    // --retries 1: the failing tag check is sent twice (no separate GET /v2/), then the run gives up.
    expect(proxy.requests.length).toBe(2);
    expect(Date.now() - started).toBeLessThan(5_000);
    // --retries 0: one attempt, no retry.
    proxy.clear();
    failsWith(await cli(['-n', proxy.host, '--source', `${open.host}/${srcRepo}:v1`, '-t', `${uniqueRepo('exit/503')}:v1`, '--retries', '0']), 7, /503/);
    expect(proxy.requests.length).toBe(1);
  });

  it('8: network (nothing listens on the port)', async () => {
    const port = await getFreePort();
    const started = Date.now();
    const r = await cli(['-n', `127.0.0.1:${port}`, '--source', `${open.host}/${srcRepo}:v1`, '-t', `${uniqueRepo('exit/closed')}:v1`, '--retries', '1']);
    failsWith(r, 8, new RegExp(`127\\.0\\.0\\.1:${port}`));
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('9: integrity (manifest bytes that do not match their digest)', async () => {
    const proxy = await stopAfterAll(startProxy({ upstream: open.url }));
    proxy.setHook((q) =>
      q.kind === 'manifest' && q.method === 'GET' && q.reference === image.digest
        ? { kind: 'respond', status: 200, headers: { 'content-type': image.mediaType }, body: Buffer.concat([image.bytes, Buffer.from('\n')]) }
        : undefined,
    );
    const dst = uniqueRepo('exit/integrity');
    const r = await cli(['-n', open.host, '--source', `${proxy.host}/${srcRepo}:v1`, '-t', `${dst}:v1`]);
    failsWith(r, 9, new RegExp(image.digest));
  });
});
