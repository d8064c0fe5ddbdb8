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
});
