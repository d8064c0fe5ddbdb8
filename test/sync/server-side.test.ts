// `sync --server-side` through the loopback fake ARM: one importImage per image, no more than
// --parallel in flight, credentials only for the registry they are bound to, tags chosen by a
// regex listed from the real source registry, and a dry run that posts nothing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { setTokenCredential } from '../../src/providers/azure/entra.js';
import { GUARD_HOSTS_ENV } from '../harness/network-guard.mjs';
import { pushImage, uniqueRepo } from '../harness/index.js';
import { registryId, startFakeArm, type FakeRegistry, type RunningFakeArm } from '../azure/fake-arm.js';
import { TestCredential, azureTestEnv, cli, expectCode } from '../azure/helpers.js';

const acr = inject('acrOrigin');
const open = inject('openRegistry');
const SUB = '11111111-2222-3333-4444-555555555555';
process.env[GUARD_HOSTS_ENV] = 'harnessacr.azurecr.io=127.0.0.1';
const harnessAcr: FakeRegistry = { subscription: SUB, resourceGroup: 'rg-target', name: 'harnessacr', loginServer: acr.host };
const work = mkdtempSync(join(tmpdir(), 'acr-import-sync-arm-'));

let arm: RunningFakeArm;
beforeAll(async () => {
  arm = await startFakeArm({ registries: [harnessAcr], tokens: [acr.entraToken] });
  return () => arm.stop();
});
afterEach(() => {
  setTokenCredential(undefined);
  arm.requests.length = 0;
  arm.imports.length = 0;
});

const env = (extra: NodeJS.ProcessEnv = {}) => azureTestEnv({ ACR_IMPORT_ARM_ENDPOINT: arm.url, ACR_IMPORT_POLL_INTERVAL: '0.05', ...extra });

describe('sync --server-side', () => {
  it('asks ACR for each image, --parallel at a time, with the credentials bound to that source only', async () => {
    const repo = uniqueRepo('sync/arm');
    for (const tag of ['1.0', '1.1', '2.0']) await pushImage(open, repo, tag, { kind: 'image' });
    const file = join(work, 'set.yaml');
    writeFileSync(
      file,
      `target: harnessacr
images:
  - source: mcr.microsoft.com/dotnet/runtime:8.0
  - source: ghcr.io/org/tool
    tags: ["1", "2"]
    repository: tools/tool
  - source: ${open.host}/${repo}
    tags: {regex: "^1\\\\."}
    repository: mirror/app
    force: true
`,
    );
    setTokenCredential(new TestCredential({ fixed: acr.entraToken }));
    arm.setImportBehaviour({ kind: 'async', polls: 2, retryAfter: 0 });
    const r = await cli(['sync', file, '--server-side', '--subscription', SUB, '--parallel', '2', '-o', 'json'], {
      env: env({ ACR_IMPORT_SOURCE_REGISTRY: 'ghcr.io', ACR_IMPORT_SOURCE_USERNAME: 'bot', ACR_IMPORT_SOURCE_PASSWORD: 's3cret' }),
    });
    expectCode(r, 0);
    const bodies = arm.imports.map((i) => (expect(i.registryId).toBe(registryId(harnessAcr)), i.body));
    expect(bodies).toHaveLength(5);
    expect(bodies).toEqual(
      expect.arrayContaining([
        { source: { registryUri: 'mcr.microsoft.com', sourceImage: 'dotnet/runtime:8.0' }, targetTags: ['dotnet/runtime:8.0'], mode: 'NoForce' },
        { source: { registryUri: 'ghcr.io', credentials: { username: 'bot', password: 's3cret' }, sourceImage: 'org/tool:1' }, targetTags: ['tools/tool:1'], mode: 'NoForce' },
        { source: { registryUri: 'ghcr.io', credentials: { username: 'bot', password: 's3cret' }, sourceImage: 'org/tool:2' }, targetTags: ['tools/tool:2'], mode: 'NoForce' },
        { source: { registryUri: open.host, sourceImage: `${repo}:1.0` }, targetTags: ['mirror/app:1.0'], mode: 'Force' },
        { source: { registryUri: open.host, sourceImage: `${repo}:1.1` }, targetTags: ['mirror/app:1.1'], mode: 'Force' },
      ]),
    );
    // Each import runs from its POST to the last poll of its operation (the fake numbers them in POST order).
    const posts = arm.requests.filter((q) => q.method === 'POST');
    const spans = posts.map((p, i) => [p.time, Math.max(...arm.requests.filter((q) => q.path.startsWith(`/operations/${i + 1}?`)).map((q) => q.time))] as const);
    const inFlight = (t: number) => spans.filter(([a, b]) => a <= t && t < b).length;
    expect(Math.max(...spans.map(([a]) => inFlight(a)))).toBe(2);
    const out = JSON.parse(r.stdout) as { engine: string; ok: boolean; totals: { tags: { copied: number } } };
    expect(out).toMatchObject({ engine: 'server-side', ok: true, totals: { tags: { copied: 5 } } });
    expect(r.stdout + r.stderr).not.toContain('s3cret');
  });

  it('a dry run posts nothing; a refused import fails its entry (exit 10) while the others are imported', async () => {
    const file = join(work, 'two.yaml');
    writeFileSync(file, 'target: harnessacr\nimages:\n  - source: mcr.microsoft.com/a:1\n  - source: mcr.microsoft.com/b:1\n');
    setTokenCredential(new TestCredential({ fixed: acr.entraToken }));
    const dry = await cli(['sync', file, '--server-side', '--subscription', SUB, '--dry-run', '-o', 'json'], { env: env() });
    expectCode(dry, 0);
    expect(arm.imports).toEqual([]);
    expect((JSON.parse(dry.stdout) as { totals: { tags: { wouldCopy: number } } }).totals.tags.wouldCopy).toBe(2);

    arm.setImportBehaviour({ kind: 'error', status: 409, code: 'Conflict', message: 'Tag a:1 already exists in target registry.' });
    const r = await cli(['sync', file, '--server-side', '--subscription', SUB, '-o', 'json', '--parallel', '1'], { env: env() });
    expectCode(r, 10);
    const out = JSON.parse(r.stdout) as { entries: { status: string; tags: { error?: { message: string } }[] }[] };
    expect(out.entries.map((e) => e.status)).toEqual(['failed', 'failed']);
    expect(out.entries[0]!.tags[0]!.error?.message).toMatch(/already exists/);
  });
});
