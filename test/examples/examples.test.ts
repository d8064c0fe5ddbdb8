// Every file in examples/ runs here against local registries: the seeding script, the one-liner,
// the script bodies of the GitHub Actions and Azure Pipelines steps, the scheduled sync workflows
// and the Kubernetes CronJob's container command. `npx acr-import` is
// served by this checkout's CLI through a shim, since the tests run offline.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { pushImage, startRegistry, type RunningRegistry, type PushResult } from '../harness/index.js';
import { cleanEnv, skopeoExists, skopeoRaw } from '../import/helpers.js';

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
  const images = ['library/alpine:3.20', 'library/alpine:3.21', 'library/alpine:3.19', 'library/debian:bookworm-slim', 'library/node:20-alpine', 'library/nginx:1.27', 'dotnet/runtime:8.0', 'library/hello-world:latest', 'pause:3.10'];
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
  return script.replaceAll('docker.io/', `${source.host}/`).replaceAll('mcr.microsoft.com/', `${source.host}/`).replaceAll('registry.k8s.io/', `${source.host}/`);
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
  it('seed-base-images.sh imports its default list in one sync, and again as a no-op', async () => {
    const script = localise(readFileSync(join(examples, 'seed-base-images.sh'), 'utf8'));
    const file = join(work, 'seed.sh');
    writeFileSync(file, script);
    const first = await run('bash', [file], { env: env(), cwd: work });
    expect(first.stderr).toMatch(/Synced 4 entries: 4 succeeded/);
    await expectImported('library/alpine:3.20', 'library/alpine:3.20');
    await expectImported('base/node:20-alpine', 'library/node:20-alpine');
    await expectImported('base/dotnet-runtime:8.0', 'dotnet/runtime:8.0');
    const again = await run('bash', [file], { env: env(), cwd: work });
    expect(again.stderr).toMatch(/tags: 4 up to date/);
  });

  it('seed-base-images.sh takes a list file; a missing image fails (exit 10) and the others are imported', async () => {
    const list = join(work, 'images.txt');
    writeFileSync(list, `# comment\n${source.host}/library/debian:bookworm-slim mirror/debian:12\n${source.host}/library/nope:1\n`);
    const err = await run('bash', [join(examples, 'seed-base-images.sh'), list], { env: env(), cwd: work }).catch((e) => e);
    expect(err.code).toBe(10);
    expect(err.stderr).toMatch(/library\/nope:1: failed: .*not found/);
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

  describe('scheduled sync of examples/mirror.yaml', () => {
    /** The sync file, its public registries made the local source, where a checkout has it. */
    function checkout(dir: string): void {
      mkdirSync(join(dir, 'examples'), { recursive: true });
      writeFileSync(join(dir, 'examples', 'mirror.yaml'), localise(readFileSync(join(examples, 'mirror.yaml'), 'utf8')));
    }

    async function expectMirrored(): Promise<void> {
      await expectImported('base/alpine:3.20', 'library/alpine:3.20');
      await expectImported('base/alpine:3.21', 'library/alpine:3.21');
      await expectImported('base/nginx:1.27', 'library/nginx:1.27');
      await expectImported('base/debian:12', 'library/debian:bookworm-slim');
      await expectImported('base/dotnet-runtime:8.0', 'dotnet/runtime:8.0');
      await expectImported('base/pause:3.10', 'pause:3.10');
      expect(await skopeoExists(`${target.host}/base/alpine:3.19`, auth())).toBe(false);
    }

    it('the GitHub Actions workflow: two shards of the matrix mirror the whole list, each writing its results', async () => {
      const yaml = readFileSync(join(examples, 'sync-github-actions.yml'), 'utf8');
      expect(yaml).toMatch(/schedule:\n\s+- cron:/);
      const script = scriptBlock(yaml, 'run');
      const dirs = [1, 2].map((shard) => join(work, `gha-${shard}`));
      const entries: number[] = [];
      for (const [i, dir] of dirs.entries()) {
        checkout(dir);
        await run('bash', ['-euo', 'pipefail', '-c', script], { env: env({ SHARD: `${i + 1}/2` }), cwd: dir });
        const result = JSON.parse(readFileSync(join(dir, 'sync.json'), 'utf8')) as { ok: boolean; shard: { index: number }; entries: { index: number }[] };
        expect(result).toMatchObject({ ok: true, shard: { index: i + 1, count: 2 } });
        entries.push(...result.entries.map((e) => e.index));
      }
      expect(entries.sort()).toEqual([0, 1, 2, 3, 4]);
      await expectMirrored();
    });

    it('the Azure Pipelines schedule', async () => {
      const yaml = readFileSync(join(examples, 'sync-azure-pipelines.yml'), 'utf8');
      expect(yaml).toMatch(/schedules:\n\s+- cron:/);
      const dir = join(work, 'ado');
      checkout(dir);
      await run('bash', ['-euo', 'pipefail', '-c', scriptBlock(yaml, 'inlineScript')], { env: env({ BUILD_ARTIFACTSTAGINGDIRECTORY: dir }), cwd: dir });
      const result = JSON.parse(readFileSync(join(dir, 'sync.json'), 'utf8')) as { ok: boolean; totals: { entries: number } };
      expect(result).toMatchObject({ ok: true, totals: { entries: 5 } });
      await expectMirrored();
    });

    it('the Kubernetes CronJob: its container command, with the ConfigMap mounted at /config', async () => {
      const docs = parseAllDocuments(readFileSync(join(examples, 'sync-cronjob.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
      const cron = docs.find((d) => d.kind === 'CronJob')!;
      expect(cron.spec.schedule).toMatch(/^[\d*/ ,-]+$/);
      const container = cron.spec.jobTemplate.spec.template.spec.containers[0] as { command: string[]; args: string[]; env: { name: string; value: string }[] };
      const dir = join(work, 'k8s');
      checkout(dir);
      // What the kubelet does: $(VAR) in args from the container's env (ACR_NAME: the test's target).
      const vars: Record<string, string> = { ...Object.fromEntries(container.env.map((e) => [e.name, e.value])), ACR_NAME: target.host };
      const argv = [...container.command, ...container.args].map((a) => a.replace(/\$\((\w+)\)/g, (_, v: string) => vars[v]!).replace(/^\/config\//, `${dir}/examples/`));
      const out = await run(argv[0]!, argv.slice(1), { env: env({ ACR_IMPORT_SOURCE_REGISTRY: vars.ACR_IMPORT_SOURCE_REGISTRY! }), cwd: dir });
      expect(out.stderr).toMatch(/Synced 5 entries: 5 succeeded/);
      await expectMirrored();
    });
  });
});
