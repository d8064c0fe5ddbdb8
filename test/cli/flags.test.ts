// One parser per flag, shared by every command: `--retries 0` (one attempt, no retry) is taken by
// the client-side import, `--server-side` and show-manifests alike, and a bad value is refused by
// each with the same words, before anything is read.
import { describe, expect, inject, it } from 'vitest';
import { pushImage, uniqueRepo } from '../harness/index.js';
import { cli, expectExit } from '../import/helpers.js';

const open = inject('openRegistry');

describe('--retries and --timeout, the same for every command', () => {
  it('takes --retries 0 everywhere', async () => {
    const src = await pushImage(open, uniqueRepo('flags/src'), 'v1', { kind: 'image' });
    const copy = await cli(['-n', open.host, '--source', `${open.host}/${src.repo}:v1`, '-t', `${uniqueRepo('flags/dst')}:v1`, '--retries', '0']);
    expectExit(copy, 0);
    const show = await cli(['show-manifests', open.host, `${src.repo}:v1`, '--retries', '0', '-o', 'json']);
    expectExit(show, 0);
    expect((JSON.parse(show.stdout) as { digest: string }[])[0]!.digest).toBe(src.digest);
    // Server-side goes on past the flags to what it needs next: a subscription.
    const server = await cli(['-n', 'myregistry', '--source', `${open.host}/${src.repo}:v1`, '--server-side', '--retries', '0', '--dry-run']);
    expect(server.stderr).not.toMatch(/--retries/);
    expect(server.stderr).toMatch(/--server-side needs the subscription/);
  });

  it('refuses a bad value with the same words in every command, exit 2', async () => {
    const runs = [
      ['-n', open.host, '--source', `${open.host}/x:v1`],
      ['-n', 'myregistry', '--source', `${open.host}/x:v1`, '--server-side'],
      ['show-manifests', open.host, 'x:v1'],
    ];
    for (const args of runs) {
      const retries = await cli([...args, '--retries', '-1']);
      expectExit(retries, 2);
      expect(retries.stderr).toContain("Error: --retries must be a whole number of at least 0, not '-1'.");
      const timeout = await cli([...args, '--timeout', '0']);
      expectExit(timeout, 2);
      expect(timeout.stderr).toContain("Error: --timeout must be a whole number of at least 1, not '0'.");
    }
  });
});
