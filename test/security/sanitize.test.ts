import { describe, expect, it } from 'vitest';
import { SHOWN_MAX, sanitize, sanitizeForDisplay } from '../../src/text/sanitize.js';

const HOSTILE = '\u001b[2J\u001b[H\u001b]0;owned\u0007bad\r\n::set-output name=token::forged\n##vso[task.setvariable variable=x]y\u0000\u009b31m\u202eevil';

describe('sanitising registry text', () => {
  it('strips escape sequences, CR, NUL, C1 and bidi controls, and puts it on one line', () => {
    const out = sanitize(HOSTILE);
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(out).not.toContain('\n');
    expect(out).toContain('bad');
    expect(out).toContain('set-output name=token');
    expect(out).not.toContain('##vso[');
  });

  it('breaks CI workflow commands at the start of the text and Azure Pipelines ones anywhere', () => {
    expect(sanitize('::error::forged')).toBe(': :error::forged');
    expect(sanitize('  ::warning file=x::y')).toBe(': :warning file=x::y');
    expect(sanitize('text ##vso[task.complete result=Succeeded] and ##[error]x')).toBe('text # #vso[task.complete result=Succeeded] and # #[error]x');
    // An IPv6 address keeps its colons.
    expect(sanitize('http://[::1]:5000/v2/')).toBe('http://[::1]:5000/v2/');
  });

  it('caps the length, saying how long the text was', () => {
    const flood = `start ${'A'.repeat(60_000)}`;
    const out = sanitize(flood);
    expect(out.length).toBeLessThan(SHOWN_MAX + 60);
    expect(out).toMatch(/^start A+… \(cut: 60006 characters in all\)$/);
    expect(sanitize('short')).toBe('short');
    expect(sanitize('x'.repeat(50), 10)).toBe(`${'x'.repeat(10)}… (cut: 50 characters in all)`);
  });

  it('keeps a printed message\'s own lines, each cleaned and neutralised', () => {
    const out = sanitizeForDisplay(`Error: first\r\n::set-output name=a::b\n\u001b[31mred\u001b[0m`);
    expect(out.split('\n')).toEqual(['Error: first', ': :set-output name=a::b', 'red']);
    expect(sanitizeForDisplay('x'.repeat(5000)).length).toBeLessThan(4100);
  });
});
