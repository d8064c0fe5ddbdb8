// Nothing stays that nothing uses: `npm run lint:unused` (knip with knip.jsonc) finds no unused
// file, export, type or dependency; and the same check names one that is planted.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root, runTool } from './lint-tool.js';

const check = (cwd: string) => runTool('knip', ['--no-progress', '--config', join(root, 'knip.jsonc')], cwd);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('unused code', () => {
  it('src/ has no unused file, export, type or dependency (npm run lint:unused)', async () => {
    const r = await check(root);
    expect(r.out.trim()).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);

  it('names an unused export and an unused file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unused-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'planted', type: 'module' }));
    writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "import { used } from './util.js';\nconsole.log(used);\n");
    writeFileSync(join(dir, 'src', 'cli', 'util.ts'), 'export const used = 1;\nexport const forgotten = 2;\n');
    writeFileSync(join(dir, 'src', 'cli', 'orphan.ts'), 'export const alone = 3;\n');
    const r = await check(dir);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/forgotten/);
    expect(r.out).toMatch(/src\/cli\/orphan\.ts/);
  }, 120_000);
});
