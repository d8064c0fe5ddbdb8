// The house has one direction: cli → commands → output → providers → copy → content → auth →
// transport → oci, and no cycle. `npm run lint:layers` (dependency-cruiser with
// .dependency-cruiser.cjs) checks src/; the same rules must refuse a planted upward import and a cycle.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root, runTool } from './lint-tool.js';

const config = join(root, '.dependency-cruiser.cjs');
const cruise = (cwd: string) => runTool('depcruise', ['src', '--config', config, '--no-cache'], cwd);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A tree of src/ files, each importing the ones listed. */
function tree(files: Record<string, string[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'layers-'));
  dirs.push(dir);
  for (const [file, imports] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    const lines = imports.map((to, i) => `import { x as x${i} } from '${to}';`);
    writeFileSync(join(dir, file), `${lines.join('\n')}\nexport const x = 1;${imports.map((_, i) => ` void x${i};`).join('')}\n`);
  }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true } }));
  return dir;
}

describe('layers', () => {
  it('src/ has no upward import and no cycle (npm run lint:layers)', async () => {
    const r = await cruise(root);
    expect(r.out).toMatch(/no dependency violations found/);
    expect(r.code).toBe(0);
  }, 60_000);

  it('refuses a lower layer importing a higher one, and two modules that import each other', async () => {
    const dir = tree({
      'src/cli/main.ts': ['../content/storage.js'],
      'src/content/storage.ts': ['../cli/main.js'],
      'src/commands/a.ts': ['./b.js'],
      'src/commands/b.ts': ['./a.js'],
    });
    const r = await cruise(dir);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('no-upward-import-of-cli: src/content/storage.ts → src/cli/main.ts');
    expect(r.out).toMatch(/no-cycle: src\/commands\/[ab]\.ts/);
  }, 60_000);
});
