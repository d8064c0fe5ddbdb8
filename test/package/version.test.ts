// The version --version prints (src/version.ts) is the package's, and the changelog's newest.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

describe('version', () => {
  it('src/version.ts matches package.json', () => {
    expect(VERSION).toBe((JSON.parse(read('package.json')) as { version: string }).version);
  });

  it("CHANGELOG.md's newest release is that version (an Unreleased section may stand above it)", () => {
    expect(/^## \[(?!Unreleased\])([^\]]+)\]/m.exec(read('CHANGELOG.md'))?.[1]).toBe(VERSION);
  });
});
