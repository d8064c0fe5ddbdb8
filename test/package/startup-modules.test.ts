// What each job loads from the npm package's bundle: `--help` and a copy between registries read
// only the chunks their static imports reach, and those hold nothing the job does not use
// (undici's fetch, WebSocket, caches and mocks; tar-stream; @azure/*; the spinner). Checked on
// esbuild's metafile of the bundle `npm run build` makes, built here from the current src.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Output {
  entryPoint?: string;
  imports: { path: string; kind: string; external?: boolean }[];
  inputs: Record<string, unknown>;
}

const root = join(import.meta.dirname, '..', '..');
const outdir = mkdtempSync(join(tmpdir(), 'acr-import-startup-'));
let outputs: Record<string, Output>;

beforeAll(async () => {
  const { buildEsm } = (await import(pathToFileURL(join(root, 'scripts', 'build-bundle.mjs')).href)) as { buildEsm(o: { outdir: string }): Promise<{ metafile: { outputs: Record<string, Output> } }> };
  outputs = (await buildEsm({ outdir: join(outdir, 'bundle') })).metafile.outputs;
}, 60_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The output chunk built from `entry`, and every chunk its static imports reach. */
function loadedWith(entry: string): string[] {
  const start = Object.keys(outputs).find((f) => outputs[f]!.entryPoint === entry && f.endsWith('.js'));
  expect(start, `no chunk for ${entry}`).toBeDefined();
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f) || !outputs[f]) return;
    seen.add(f);
    for (const i of outputs[f]!.imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(start!);
  return [...seen];
}

/** Source files (node_modules paths and src paths) inside these chunks. */
const inputsOf = (chunks: string[]) => chunks.flatMap((c) => Object.keys(outputs[c]!.inputs));

// undici's core needs a few helpers under lib/web/fetch (body mixins), never fetch itself.
const UNUSED = [
  /node_modules\/undici\/lib\/web\/(websocket|eventsource|cache|cookies)\//,
  /node_modules\/undici\/lib\/web\/fetch\/(index|request|response)\.js$/,
  /node_modules\/undici\/lib\/(mock|cache|interceptor)\//,
  /node_modules\/tar-stream\//,
  /node_modules\/@azure\//,
  /node_modules\/ora\//,
];

describe('start-up loads what the job needs', () => {
  it('--help loads the command line alone: no HTTP client, archives, Azure or spinner', () => {
    const inputs = inputsOf(loadedWith('src/cli/main.ts'));
    expect(inputs.some((i) => i.includes('node_modules/commander/'))).toBe(true);
    for (const pattern of [/node_modules\/undici\//, ...UNUSED]) expect(inputs.filter((i) => pattern.test(i))).toEqual([]);
  });

  it("a copy between registries loads undici's client, not its fetch, WebSocket, caches or mocks, nor tar-stream, @azure/* or ora", () => {
    const inputs = inputsOf([...loadedWith('src/cli/main.ts'), ...loadedWith('src/commands/import.ts')]);
    expect(inputs.some((i) => i.includes('node_modules/undici/lib/dispatcher/client-h1.js'))).toBe(true);
    for (const pattern of UNUSED) expect(inputs.filter((i) => pattern.test(i))).toEqual([]);
  });
});
