// A failure says which side failed and what it was doing, in text ("Error: target HOST: pushing
// manifest …") and in json (`side`, and the same message).
import { describe, expect, inject, it } from 'vitest';
import { pushImage, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { cli, expectExit, expectNoStack, listTags, type CliResult } from './helpers.js';

const open = inject('openRegistry');

const refusal = (status: number, code: string) => ({ kind: 'respond' as const, status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errors: [{ code, message: code.toLowerCase().replace(/_/g, ' ') }] }) });

/** The error line on stderr, and the json error object of the same run with -o json. */
async function failure(args: string[], exit: number): Promise<{ text: string; json: { side: string | null; message: string } }> {
  const text: CliResult = await cli(args);
  expectExit(text, exit);
  expectNoStack(text.stderr);
  const json = await cli([...args, '-o', 'json']);
  expectExit(json, exit);
  return { text: text.stderr.split('\n').find((l) => l.startsWith('Error: '))!, json: (JSON.parse(json.stdout) as { error: { side: string | null; message: string } }).error };
}

describe('which side failed, and doing what', () => {
  it('a source failure: "source HOST: checking manifest REPO:TAG: …", side source', async () => {
    const src = await pushImage(open, uniqueRepo('sides/src'), 'v1', { kind: 'image' });
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'manifest' && q.repo === src.repo ? refusal(500, 'UNKNOWN') : undefined) }));
    const { text, json } = await failure(['-n', open.host, '--source', `${proxy.host}/${src.repo}:v1`, '-t', `${uniqueRepo('sides/dst')}:v1`, '--retries', '0'], 7);
    expect(text).toMatch(new RegExp(`^Error: source ${proxy.host}: (checking|fetching) manifest ${src.repo}:v1: (HEAD|GET) \\S+ failed with HTTP 500`));
    expect(json.side).toBe('source');
    expect(`Error: ${json.message}`).toBe(text);
  });

  it('a missing source names its side too', async () => {
    const repo = uniqueRepo('sides/none');
    const { text, json } = await failure(['-n', `${open.host.replace('127.0.0.1', 'localhost')}`, '--source', `${open.host}/${repo}:v1`], 4);
    expect(text).toBe(`Error: source ${open.host}/${repo}:v1 was not found.`);
    expect(json.side).toBe('source');
  });

  it('a target failure: "target HOST: pushing manifest … / tagging REPO:TAG: …", side target; no tag written', async () => {
    const src = await pushImage(open, uniqueRepo('sides/src'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('sides/dst');
    const proxy = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'manifest' && q.method === 'PUT' ? refusal(400, 'MANIFEST_INVALID') : undefined) }));
    const { text, json } = await failure(['-n', proxy.host, '--source', `${open.host}/${src.repo}:v1`, '-t', `${dst}:v1`], 9);
    expect(text).toMatch(new RegExp(`^Error: target ${proxy.host}: (pushing manifest ${dst}@sha256:[0-9a-f]{64}|tagging ${dst}:v1): PUT \\S+ failed with HTTP 400 \\(MANIFEST_INVALID`));
    expect(json.side).toBe('target');
    expect(`Error: ${json.message}`).toBe(text);
    expect(await listTags(open.url, dst)).toEqual([]);
  });

  it('an upload failure names the blob being uploaded: PATCH "uploading blob", closing PUT "finishing upload of blob"; no tag written', async () => {
    const src = await pushImage(open, uniqueRepo('sides/src'), 'v1', { kind: 'image', layerSize: 2 * 1024 * 1024 });
    const patched = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'upload' && q.method === 'PATCH' ? refusal(400, 'BLOB_UPLOAD_INVALID') : undefined) }));
    const dst = uniqueRepo('sides/dst');
    const patch = await failure(['-n', patched.host, '--source', `${open.host}/${src.repo}:v1`, '-t', `${dst}:v1`], 9);
    expect(patch.text).toMatch(new RegExp(`^Error: target ${patched.host}: uploading blob ${dst}@sha256:[0-9a-f]{64}: PATCH http://${patched.host}/v2/${dst}/blobs/uploads/\\S+ failed with HTTP 400 \\(BLOB_UPLOAD_INVALID`));
    expect(patch.json.side).toBe('target');

    const put = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'upload' && q.method === 'PUT' ? refusal(400, 'DIGEST_INVALID') : undefined) }));
    const closing = await failure(['-n', put.host, '--source', `${open.host}/${src.repo}:v1`, '-t', `${dst}:v1`], 9);
    expect(closing.text).toMatch(new RegExp(`^Error: target ${put.host}: finishing upload of blob ${dst}@sha256:[0-9a-f]{64}: PUT http://${put.host}/v2/${dst}/blobs/uploads/\\S+ failed with HTTP 400 \\(DIGEST_INVALID`));
    expect(closing.json.side).toBe('target');
    expect(await listTags(open.url, dst)).toEqual([]);
  });

  it('a blob redirected to a store that fails names the store: "fetching blob … (redirected to HOST)", side source', async () => {
    const src = await pushImage(open, uniqueRepo('sides/src'), 'v1', { kind: 'image' });
    // The store is another origin, serving outside /v2/ (a blob store's signed URLs), and failing.
    const store = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'other' ? refusal(500, 'UNKNOWN') : undefined) }));
    const front = await stopAfterAll(startProxy({ upstream: open.url, hook: (q) => (q.kind === 'blob' && q.method === 'GET' ? { kind: 'redirect', location: `${store.url}/store/${q.reference}?sig=secret-signature` } : undefined) }));
    const { text, json } = await failure(['-n', open.host, '--source', `${front.host}/${src.repo}:v1`, '-t', `${uniqueRepo('sides/dst')}:v1`, '--retries', '0'], 7);
    expect(text).toMatch(new RegExp(`^Error: source ${front.host}: fetching blob ${src.repo}@sha256:[0-9a-f]{64} \\(redirected to ${store.host}\\): GET http://${store.host}/store/sha256:[0-9a-f]{64} failed with HTTP 500`));
    expect(text).not.toContain('secret-signature');
    expect(json.side).toBe('source');
  });
});
