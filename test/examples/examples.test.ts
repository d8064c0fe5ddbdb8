// Every file in examples/ runs here against local registries: the seeding script, the one-liner,
// and the script bodies of the GitHub Actions and Azure Pipelines steps. `npx acr-import` is
// served by this checkout's CLI through a shim, since the tests run offline.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage, startRegistry, type RunningRegistry, type PushResult } from '../harness/index.js';
import { cleanEnv, skopeoRaw } from '../import/helpers.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const examples = join(root, 'examples');

/** The script under `run: |` or `inlineScript: |` in a workflow file, dedented. */
export function scriptBlock(yaml: string, key: 'run' | 'inlineScript'): string {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\s*(- )?${key}: \\|\\s*$`).test(l));
  if (start < 0) throw new Error(`no '${key}: |' block`);
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() && !/^\s{8,}/.test(line)) break;
    body.push(line);
  }
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)![0].length));
  return body.map((l) => l.slice(indent)).join('\n');
}

let source: RunningRegistry;
let target: RunningRegistry;
let work: string;
const seeded = new Map<string, PushResult>();

beforeAll(async () => {
  source = await startRegistry();
  target = await startRegistry({ auth: { kind: 'htpasswd' } });
  work = mkdtempSync(join(tmpdir(), 'acr-import-examples-'));
  // `npx [--yes] acr-import@<this version> …` → this checkout's CLI (the examples pin the version).
  const shim = join(work, 'npx');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(shim, `#!/bin/sh\nwhile [ "$1" = "--yes" ] || [ "$1" = "-y" ]; do shift; done\n[ "$1" = "acr-import@${version}" ] || { echo "unexpected: npx $*" >&2; exit 99; }\nshift\nexec "${process.execPath}" "${join(root, 'bin/acr-import.js')}" "$@"\n`);
  chmodSync(shim, 0o755);
  const images = ['library/alpine:3.20', 'library/debian:bookworm-slim', 'library/node:20-alpine', 'library/nginx:1.27', 'dotnet/runtime:8.0', 'library/hello-world:latest'];
  for (const ref of images) {
    const [repo, tag] = ref.split(':') as [string, string];
    seeded.set(ref, await pushImage(source, repo, tag, { kind: 'index', platforms: 2 }));
  }
  return async () => {
    await source.stop();
    await target.stop();
    rmSync(work, { recursive: true, force: true });
  };
});
afterAll(() => undefined);

/** Public registries in the examples become the local source registry. */
function localise(script: string): string {
  return script.replaceAll('docker.io/', `${source.host}/`).replaceAll('mcr.microsoft.com/', `${source.host}/`);
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cleanEnv({
    PATH: `${work}:${process.env.PATH}`,
    ACR_NAME: target.host,
    ACR_IMPORT_TARGET_USERNAME: target.credentials!.username,
    ACR_IMPORT_TARGET_PASSWORD: target.credentials!.password,
    ...extra,
  });
}

const auth = () => target.credentials!;

async function expectImported(ref: string, from: string) {
  const raw = await skopeoRaw(`${target.host}/${ref}`, auth());
  expect(raw.equals(seeded.get(from)!.bytes)).toBe(true);
}

describe('examples/', () => {
  it('seed-base-images.sh imports its default list, and again as a no-op', async () => {
    const script = localise(readFileSync(join(examples, 'seed-base-images.sh'), 'utf8'));
    const file = join(work, 'seed.sh');
    writeFileSync(file, script);
    const first = await run('bash', [file], { env: env(), cwd: work });
    expect(first.stdout).toContain('==> ');
    await expectImported('library/alpine:3.20', 'library/alpine:3.20');
    await expectImported('base/node:20-alpine', 'library/node:20-alpine');
    await expectImported('base/dotnet-runtime:8.0', 'dotnet/runtime:8.0');
    const again = await run('bash', [file], { env: env(), cwd: work });
    expect(again.stderr).toMatch(/already in/);
  });

  it('seed-base-images.sh takes a list file and fails when an image is missing', async () => {
    const list = join(work, 'images.txt');
    writeFileSync(list, `# comment\n${source.host}/library/debian:bookworm-slim mirror/debian:12\n${source.host}/library/nope:1\n`);
    const err = await run('bash', [join(examples, 'seed-base-images.sh'), list], { env: env(), cwd: work }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/library\/nope:1 failed/);
    await expectImported('mirror/debian:12', 'library/debian:bookworm-slim');
  });

  it('npx-one-liner.sh', async () => {
    await run('bash', [join(examples, 'npx-one-liner.sh')], { env: env({ SOURCE: `${source.host}/library/hello-world:latest`, TARGET: 'hello-world:latest' }), cwd: work });
    await expectImported('hello-world:latest', 'library/hello-world:latest');
  });

  it('the GitHub Actions step', async () => {
    const script = localise(scriptBlock(readFileSync(join(examples, 'github-actions.yml'), 'utf8'), 'run'));
    const out = await run('bash', ['-euo', 'pipefail', '-c', script], { env: env(), cwd: work });
    expect(out.stdout).toContain(`alpine digest: ${seeded.get('library/alpine:3.20')!.digest}`);
    await expectImported('base/nginx:1.27', 'library/nginx:1.27');
  });

  it('the Azure Pipelines step', async () => {
    const script = localise(scriptBlock(readFileSync(join(examples, 'azure-pipelines.yml'), 'utf8'), 'inlineScript'));
    await run('bash', ['-euo', 'pipefail', '-c', script], { env: env(), cwd: work });
    await expectImported('base/alpine:3.20', 'library/alpine:3.20');
    await expectImported('base/dotnet-runtime:8.0', 'dotnet/runtime:8.0');
  });
});
