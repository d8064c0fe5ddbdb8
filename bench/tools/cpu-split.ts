// Diagnostic: where the CPU goes in one bandwidth-bound copy: the contender's own process, and the
// source and target registries (from /proc/<pid>/stat before and after), with medians and ratios
// to the floor at the end. Besides the bench's contenders it runs relays that check nothing:
// curl-relay.sh (curl piped into curl, no Node at all) and node-relay.mjs with undici and with
// node:http, and node-relay.mjs with node:http and a SHA-256 of every byte: what relaying through
// one more process costs on this machine, whatever copies. Not part of `npm run bench`.
//   npx tsx bench/tools/cpu-split.ts [layerMiB] [runs]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixture, registryPid, startRegistries, verifyCopy } from '../lib/lab.js';
import { processCpuMs as cpuMs } from '../lib/proc.js';
import { runAcrImport, runSkopeo } from '../lib/contenders.js';
import { floorPush } from '../lib/floor.js';
import { runCurlRelay, runNodeRelay, type NodeRelayKind } from '../lib/relays.js';
import { fmtSeconds, median } from '../lib/stats.js';

const MiB = 1024 * 1024;
const layerMiB = Number(process.argv[2] ?? 128);
const runs = Number(process.argv[3] ?? 2);

const work = mkdtempSync(join(tmpdir(), 'acr-import-cpu-'));
const { source, target } = await startRegistries();
try {
  const fx = await buildFixture(source, 'cpu/bw', 'v1', { kind: 'index', platforms: 4, layersPerImage: 2, layerSize: layerMiB * MiB }, work);
  const sp = registryPid(source);
  const tp = registryPid(target);
  const contenders = ['acr-import', 'skopeo', 'floor', 'relay-curl', 'relay-undici', 'relay-http', 'relay-http+sha256'];
  const rows = new Map(contenders.map((c) => [c, { wall: [] as number[], own: [] as number[], src: [] as number[], tgt: [] as number[] }]));
  for (let i = 0; i < runs; i++) {
    // The order rotates every round, as in the bench.
    for (const c of contenders.map((_, k) => contenders[(k + i) % contenders.length]!)) {
      execFileSync('sync');
      const s0 = cpuMs(sp);
      const t0 = cpuMs(tp);
      const job = { sourceHost: source.host, targetHost: target.host, repo: fx.repo, tag: 'v1', targetRepo: `cpu/${c.replace(/[^a-z0-9-]/g, '-')}-${i}` };
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
      } else if (c.startsWith('relay-')) {
        const relay = { sourceUrl: source.url, targetUrl: target.url, targetRepo: job.targetRepo, parallel: 8, workDir: work, timeoutMs: 600_000 };
        const kind = c.slice('relay-'.length);
        const r = kind === 'curl' ? await runCurlRelay(fx, relay) : await runNodeRelay(kind as NodeRelayKind, fx, relay);
        wall = r.wallMs;
        own = r.cpuMs;
      } else {
        const r = await floorPush({ baseUrl: target.url, repo: job.targetRepo, tag: 'v1', image: fx.floor, parallel: 8, workDir: work, timeoutMs: 600_000 });
        wall = r.wallMs;
        own = r.cpuMs;
      }
      await verifyCopy(target, job.targetRepo, 'v1', fx.result.digest);
      const row = rows.get(c)!;
      row.wall.push(wall);
      row.own.push(own ?? NaN);
      row.src.push(cpuMs(sp) - s0);
      row.tgt.push(cpuMs(tp) - t0);
      console.log(`${c.padEnd(17)} wall ${fmtSeconds(wall)} s; CPU: own ${fmtSeconds(own ?? NaN)} s, source registry ${fmtSeconds(row.src.at(-1)!)} s, target registry ${fmtSeconds(row.tgt.at(-1)!)} s`);
    }
  }
  const floorWall = median(rows.get('floor')!.wall);
  console.log(`\nmedians of ${runs} (${4 * 2 * layerMiB} MiB): wall, CPU of the contender / source registry / target registry, wall / floor`);
  for (const [c, r] of rows) {
    console.log(`${c.padEnd(17)} ${fmtSeconds(median(r.wall))} s  CPU ${fmtSeconds(median(r.own))} / ${fmtSeconds(median(r.src))} / ${fmtSeconds(median(r.tgt))} s  ${(median(r.wall) / floorWall).toFixed(2)}×`);
  }
} finally {
  await Promise.all([source.stop(), target.stop()]);
  rmSync(work, { recursive: true, force: true });
}
