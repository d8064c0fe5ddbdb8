// Diagnostic: where the CPU goes in one copy: the contender's own process, and the source and
// target registries (from /proc/<pid>/stat before and after). Not part of `npm run bench`.
//   npx tsx bench/tools/cpu-split.ts [layerMiB] [runs]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixture, startRegistries, verifyCopy } from '../lib/lab.js';
import { runAcrImport, runSkopeo } from '../lib/contenders.js';
import { floorPush } from '../lib/floor.js';
import type { RunningRegistry } from '../../test/harness/index.js';

const MiB = 1024 * 1024;
const layerMiB = Number(process.argv[2] ?? 128);
const runs = Number(process.argv[3] ?? 2);
const TICK = 100; // USER_HZ

function pidOf(r: RunningRegistry): number {
  const out = execFileSync('pgrep', ['-f', r.configPath], { encoding: 'utf8' }).trim().split('\n').map(Number);
  // setpriv execs the registry, so the newest match is the registry itself.
  return Math.max(...out);
}
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
}

const work = mkdtempSync(join(tmpdir(), 'acr-import-cpu-'));
const { source, target } = await startRegistries();
try {
  const fx = await buildFixture(source, 'cpu/bw', 'v1', { kind: 'index', platforms: 4, layersPerImage: 2, layerSize: layerMiB * MiB }, work);
  const sp = pidOf(source);
  const tp = pidOf(target);
  for (let i = 0; i < runs; i++) {
    for (const c of ['acr-import', 'skopeo', 'floor']) {
      execFileSync('sync');
      const s0 = cpuMs(sp);
      const t0 = cpuMs(tp);
      const job = { sourceHost: source.host, targetHost: target.host, repo: fx.repo, tag: 'v1', targetRepo: `cpu/${c}-${i}` };
      let wall: number;
      let own: number | undefined;
      if (c === 'acr-import') {
        const r = await runAcrImport(job, { extraArgs: [], timeoutMs: 600_000 });
        wall = r.wallMs;
        own = r.cpuMs;
      } else if (c === 'skopeo') {
        const r = await runSkopeo(job, { timeoutMs: 600_000 });
        wall = r.wallMs;
        own = r.cpuMs;
      } else {
        const r = await floorPush({ baseUrl: target.url, repo: job.targetRepo, tag: 'v1', image: fx.floor, parallel: 8, workDir: work, timeoutMs: 600_000 });
        wall = r.wallMs;
        own = r.cpuMs;
      }
      await verifyCopy(target, job.targetRepo, 'v1', fx.result.digest);
      console.log(`${c.padEnd(10)} wall ${(wall / 1000).toFixed(2)} s; CPU: own ${own !== undefined ? (own / 1000).toFixed(2) : '?'} s, source registry ${((cpuMs(sp) - s0) / 1000).toFixed(2)} s, target registry ${((cpuMs(tp) - t0) / 1000).toFixed(2)} s`);
    }
  }
} finally {
  await Promise.all([source.stop(), target.stop()]);
  rmSync(work, { recursive: true, force: true });
}
