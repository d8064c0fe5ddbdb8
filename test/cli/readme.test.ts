// The README as a newcomer reads it: the quick start first, then what it does, how to install it
// and a first import, before the reference; every flag `import --help` lists is in its table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { Capture } from '../import/helpers.js';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
const sections = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]!);

describe('README', () => {
  it('opens with the quick start: the demo and the tests, each one command that npm scripts back', () => {
    expect(sections[0]).toBe('Quick start');
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf(`## ${sections[1]}`));
    expect(quick).toContain('npm ci && npm run demo');
    expect(quick).toContain('npm ci && npm test');
    expect(pkg.scripts.demo).toBeDefined();
    expect(pkg.scripts.pretest).toContain('prerequisites');
  });

  it('says what it does, how to install it today and a first import before the reference', () => {
    const at = (name: string) => sections.indexOf(name);
    for (const name of ['What it does', 'Install', 'Your first import']) {
      expect(at(name), name).toBeGreaterThan(0);
      expect(at(name), name).toBeLessThan(at('Usage'));
    }
    expect(readme).toMatch(/npm pack/);
    expect(readme).toMatch(/git\+/);
  });

  it('lists every flag of `import --help`', () => {
    const out = new Capture();
    const program = buildProgram(async () => undefined, { stdout: out, stderr: out });
    const importCommand = program.commands.find((c) => c.name() === 'import')!;
    const table = readme.slice(readme.indexOf('### Flags of `import`'), readme.indexOf('### `show-manifests`'));
    for (const option of importCommand.options) expect(table, option.long).toMatch(new RegExp(`${option.long}(?![\\w-])`));
  });
});
