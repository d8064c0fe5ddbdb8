// Two imports racing on the same target (two CLI processes at once, same image, same tag): both
// end correct and the target holds the byte-identical image.
import { describe, expect, inject, it } from 'vitest';
import { pushImage, uniqueRepo } from '../harness/index.js';
import { spawn } from 'node:child_process';
import { cleanEnv, skopeoCopyAll, skopeoRaw } from '../import/helpers.js';
import { createHash } from 'node:crypto';

const open = inject('openRegistry');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const BIN = new URL('../../bin/acr-import.js', import.meta.url).pathname;

/** The built CLI as a separate process, as a user (or two CI jobs) would run it. */
function acrImport(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv({ CI: '1' }), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('two imports at once', () => {
  it('both exit 0 and the target holds the byte-identical image', async () => {
    const repo = uniqueRepo('race');
    const image = await pushImage(open, repo, 'v1', { kind: 'index', platforms: 3, layersPerImage: 2, layerSize: 1536 * 1024 });
    const dest = uniqueRepo('race-dst');
    const args = ['--name', open.host, '--source', `${open.host}/${repo}:v1`, '-t', `${dest}:v1`];
    const [a, b] = await Promise.all([acrImport(args), acrImport(args)]);
    expect([a.code, b.code], `${a.stderr}\n---\n${b.stderr}`).toEqual([0, 0]);
    expect(sha(await skopeoRaw(`${open.host}/${dest}:v1`))).toBe(image.digest);
    expect((await skopeoCopyAll(`${open.host}/${dest}:v1`)).length).toBeGreaterThan(3);
  });
});
