// The -o json contract as a pipeline relies on it: every object printed validates against the
// JSON Schema the package publishes, a copy, a no-op and a dry run have the same fields, and a
// failure prints one error object whose exitCode is the process's.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, inject, it } from 'vitest';
import { pushImage, uniqueRepo } from '../harness/index.js';
import { cli, expectExit } from '../import/helpers.js';

const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');
const root = new URL('../../', import.meta.url);
const schema = JSON.parse(readFileSync(new URL('schema/import-result.schema.json', root), 'utf8')) as Record<string, unknown>;
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

function valid(stdout: string): Record<string, unknown> {
  const value = JSON.parse(stdout) as Record<string, unknown>;
  if (!validate(value)) throw new Error(`does not match schema/import-result.schema.json:\n${JSON.stringify(validate.errors, null, 2)}\n${stdout}`);
  return value;
}

describe('-o json contract', () => {
  it('a copy, a no-op and a dry run: valid against the published schema, the same fields, one way of counting manifests', async () => {
    const src = await pushImage(open, uniqueRepo('contract/src'), 'v1', { kind: 'index', platforms: 2 });
    const dst = uniqueRepo('contract/dst');
    const args = ['-n', open.host, '--source', `${open.host}/${src.repo}:v1`, '-t', `${dst}:v1`, '-o', 'json'];
    const copy = await cli(args);
    expectExit(copy, 0);
    const again = await cli(args);
    expectExit(again, 0);
    const dry = await cli([...args.slice(0, -2), '-t', `${dst}:v2`, '--dry-run', '-o', 'json']);
    expectExit(dry, 0);
    const [c, n, d] = [valid(copy.stdout), valid(again.stdout), valid(dry.stdout)];
    expect(Object.keys(n).sort()).toEqual(Object.keys(c).sort());
    expect(Object.keys(d).sort()).toEqual(Object.keys(c).sort());
    expect(c).toMatchObject({ schemaVersion: 1, ok: true, upToDate: false, dryRun: false, manifestCount: 3 });
    expect(n).toMatchObject({ schemaVersion: 1, ok: true, upToDate: true, dryRun: false, manifestCount: 0, manifests: [] });
    expect(d).toMatchObject({ schemaVersion: 1, ok: true, upToDate: false, dryRun: true, manifestCount: 3 });
    for (const o of [c, n, d]) expect(o.manifestCount).toBe((o.manifests as unknown[]).length);
    // The index is listed and counted: the root last.
    expect((c.manifests as { digest: string }[]).at(-1)!.digest).toBe(src.digest);
  });

  it('a failure: one error object with the exit code, kind, message, hint and the side that failed', async () => {
    const missing = await cli(['-n', open.host, '--source', `${htpasswd.host}/${uniqueRepo('contract/none')}:v1`, '-u', htpasswd.username, '-p', htpasswd.password, '-o', 'json']);
    expectExit(missing, 4);
    expect(valid(missing.stdout)).toMatchObject({ schemaVersion: 1, ok: false, error: { exitCode: 4, kind: 'not-found', side: 'source' } });

    const src = await pushImage(open, uniqueRepo('contract/auth-src'), 'v1', { kind: 'image' });
    const refused = await cli(['-n', htpasswd.host, '--source', `${open.host}/${src.repo}:v1`, '-o', 'json']);
    expectExit(refused, 3);
    const e = valid(refused.stdout).error as Record<string, unknown>;
    expect(e).toMatchObject({ exitCode: 3, kind: 'auth', side: 'target' });
    expect(e.message).toContain(htpasswd.host);
    // stdout holds the object alone; the words for people are on stderr.
    expect(refused.stdout.trim().split('\n')[0]).toBe('{');
    expect(refused.stderr).toMatch(/^Error: /m);
  });

  it('a usage error before the flags are understood is an error object too', async () => {
    const r = await cli(['--source', 'x', '-o', 'json']);
    expectExit(r, 2);
    expect(valid(r.stdout)).toMatchObject({ ok: false, error: { exitCode: 2, kind: 'usage', side: null } });
    expect((valid(r.stdout).error as { message: string }).message).toMatch(/--name/);
  });

  it('the schema ships in the package, and the README documents every field', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('schema/');
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const section = readme.slice(readme.indexOf('## JSON output'));
    expect(section.length).toBeLessThan(readme.length);
    const defs = (schema.definitions as Record<string, { properties: Record<string, unknown> }>);
    const fields = [...Object.keys(defs.result!.properties), ...Object.keys((defs.error!.properties.error as { properties: Record<string, unknown> }).properties)];
    for (const field of fields) expect(section, `README's JSON output section names ${field}`).toContain(`\`${field}\``);
  });
});
