// A/B of two acr-import builds on one bench scenario, runs alternating (for before/after figures
// of a change). Not part of `npm run bench`.
//   npx tsx bench/tools/ab.ts <bandwidth|latency|huge> <binA> <binB> [runs]
// AB_ENV_A / AB_ENV_B: `NAME=value …` set for one side's runs only (one build, two settings), e.g.
// AB_ENV_B='NODE_OPTIONS=--max-semi-space-size=1'.
// A build of another tree: copy the tree, `npm run build` there, pass its bin/acr-import.js.
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildFixture, startRecordingProxy, startRegistries, verifyCopy } from '../lib/lab.js';
import { runMeasured } from '../lib/proc.js';
import { envPairs } from '../lib/config.js';
import { fmtMiB, fmtSeconds, median } from '../lib/stats.js';
import type { FixtureSpec } from '../../test/harness/index.js';

const MiB = 1024 * 1024;
const [scenario = 'bandwidth', binA, binB, runsArg] = process.argv.slice(2);
if (!binA || !binB) throw new Error('usage: ab.ts <bandwidth|latency|huge> <binA> <binB> [runs]');
const runs = Number(runsArg ?? 5);
const specs: Record<string, FixtureSpec> = {
  bandwidth: { kind: 'index', platforms: 4, layersPerImage: 2, layerSize: Number(process.env.AB_LAYER_MIB ?? 128) * MiB },
  latency: { kind: 'index', platforms: 40, layersPerImage: 2, layerSize: 32 * 1024 },
  huge: { kind: 'image', layers: [{ size: Number(process.env.AB_HUGE_MIB ?? 1536) * MiB, stream: true }] },
};
const work = mkdtempSync(join(tmpdir(), 'acr-import-ab-'));
const { source, target } = await startRegistries();
try {
  const fx = await buildFixture(source, `ab/${scenario}`, 'v1', specs[scenario]!, work);
  const delay = scenario === 'latency' ? 25 : 0;
  const ps = delay ? await startRecordingProxy(source, delay) : undefined;
  const pt = delay ? await startRecordingProxy(target, delay) : undefined;
  const res: Record<string, { wall: number[]; cpu: number[]; rss: number[] }> = { A: { wall: [], cpu: [], rss: [] }, B: { wall: [], cpu: [], rss: [] } };
  for (let i = 0; i < runs; i++) {
    for (const [name, bin] of (i % 2 ? [['B', binB], ['A', binA]] : [['A', binA], ['B', binB]]) as [string, string][]) {
      if (!delay) await runMeasured('sync', [], { rss: false });
      const repo = `ab-${scenario}/${name.toLowerCase()}-${i}`;
      const extraEnv = envPairs(process.env[`AB_ENV_${name}`]);
      const r = await runMeasured(process.execPath, [bin, '--name', pt?.host ?? target.host, '--source', `${ps?.host ?? source.host}/${fx.repo}:v1`, '-t', `${repo}:v1`, '-q'], { env: { ...process.env, ...extraEnv } });
      if (r.code !== 0) throw new Error(r.stderr);
      await verifyCopy(target, repo, 'v1', fx.result.digest);
      res[name]!.wall.push(r.wallMs);
      res[name]!.cpu.push(r.cpuMs ?? NaN);
      res[name]!.rss.push(r.peakRss ?? NaN);
      console.log(`${name} run ${i + 1}: ${fmtSeconds(r.wallMs)} s, CPU ${fmtSeconds(r.cpuMs ?? NaN)} s, RSS ${fmtMiB(r.peakRss)}`);
    }
  }
  for (const name of ['A', 'B']) {
    const r = res[name]!;
    console.log(`${name}: wall median ${fmtSeconds(median(r.wall))} s (${fmtSeconds(Math.min(...r.wall))}–${fmtSeconds(Math.max(...r.wall))}), CPU median ${fmtSeconds(median(r.cpu))} s, peak RSS max ${fmtMiB(Math.max(...r.rss))}`);
  }
  console.log(`B / A wall: ${(median(res.B!.wall) / median(res.A!.wall)).toFixed(2)}, CPU: ${(median(res.B!.cpu) / median(res.A!.cpu)).toFixed(2)}`);
  await ps?.stop();
  await pt?.stop();
} finally {
  await Promise.all([source.stop(), target.stop()]);
  rmSync(work, { recursive: true, force: true });
}
