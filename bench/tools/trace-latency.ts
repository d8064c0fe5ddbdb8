// Diagnostic: acr-import runs of the latency scenario through recording proxies, then a timeline
// of what was in flight, per-kind request counts and time spans, and where the round trips go:
// start-up (spawn to first request), planning (to the first blob check), transfers (to the last
// blob upload), manifests by digest, and the tag. Not part of the bench.
//   npx tsx bench/tools/trace-latency.ts [platforms] [delayMs] [extra acr-import args…]
import { pushImage, type RunningRegistry } from '../../test/harness/index.js';
import { registryPid, startRecordingProxy, startRegistries } from '../lib/lab.js';
import { runAcrImport } from '../lib/contenders.js';
import { processCpuMs } from '../lib/proc.js';

const registryCpu = (r: RunningRegistry): number => processCpuMs(registryPid(r));

const platforms = Number(process.argv[2] ?? 40);
const delay = Number(process.argv[3] ?? 25);
const extra = process.argv.slice(4);
const { source, target } = await startRegistries();
try {
  const img = await pushImage(source, 'trace/img', 'v1', { kind: 'index', platforms, layersPerImage: 2, layerSize: 32 * 1024 });
  const ps = await startRecordingProxy(source, delay);
  const pt = await startRecordingProxy(target, delay);
  for (let i = 0; i < 2; i++) {
    ps.clear();
    pt.clear();
    const cpu0 = { source: registryCpu(source), target: registryCpu(target), proxies: process.cpuUsage() };
    const t0 = Date.now();
    const r = await runAcrImport({ sourceHost: ps.host, targetHost: pt.host, repo: 'trace/img', tag: 'v1', targetRepo: `trace/out${i}` }, { extraArgs: extra, timeoutMs: 120_000, cpuProfDir: process.env.TRACE_PROF });
    const proxies = process.cpuUsage(cpu0.proxies);
    console.log(`  CPU ms: acr-import ${r.cpuMs}, source registry ${registryCpu(source) - cpu0.source}, target registry ${registryCpu(target) - cpu0.target}, both proxies (this process) ${((proxies.user + proxies.system) / 1000).toFixed(0)}`);
    const all = [...ps.requests.map((x) => ({ ...x, side: 'S' })), ...pt.requests.map((x) => ({ ...x, side: 'T' }))].sort((a, b) => a.startedAt - b.startedAt);
    const first = all[0]!.startedAt;
    const last = Math.max(...all.map((x) => x.startedAt + x.durationMs));
    console.log(`run ${i}: wall ${r.wallMs.toFixed(0)} ms, cpu ${r.cpuMs} ms; first request at +${first - t0} ms, last answer at +${last - t0} ms; ${all.length} requests; digest ${img.digest.slice(0, 19)}`);
    // Phases: time of first/last request of each kind.
    const phases = new Map<string, { n: number; start: number; end: number }>();
    for (const x of all) {
      const k = `${x.side} ${x.method} ${x.kind}`;
      const p = phases.get(k) ?? { n: 0, start: Infinity, end: 0 };
      p.n++;
      p.start = Math.min(p.start, x.startedAt - t0);
      p.end = Math.max(p.end, x.startedAt + x.durationMs - t0);
      phases.set(k, p);
    }
    for (const [k, p] of [...phases.entries()].sort((a, b) => a[1].start - b[1].start)) console.log(`  ${k.padEnd(22)} ${String(p.n).padStart(4)}  +${p.start}…+${p.end} ms`);
    // Phases, in ms and in round trips of `delay`.
    const end = (xs: typeof all) => Math.max(...xs.map((x) => x.startedAt + x.durationMs));
    const blobWork = all.filter((x) => x.side === 'T' && (x.kind === 'blob' || x.kind === 'upload'));
    const digestPuts = all.filter((x) => x.side === 'T' && x.method === 'PUT' && x.kind === 'manifest' && x.path.includes('/manifests/sha256:'));
    const tagPut = all.filter((x) => x.side === 'T' && x.method === 'PUT' && x.kind === 'manifest' && !x.path.includes('/manifests/sha256:'));
    const marks: [string, number][] = [
      ['start-up (spawn to first request)', r.startedAt],
      ['planning (to the first blob check)', first],
      ['transfers (to the last blob upload)', Math.min(...blobWork.map((x) => x.startedAt))],
      ['manifests by digest (after the last blob)', end(blobWork)],
      ['tag (after the last manifest)', digestPuts.length ? Math.max(end(digestPuts), end(blobWork)) : end(blobWork)],
      ['end', tagPut.length ? end(tagPut) : last],
    ];
    for (let k = 0; k + 1 < marks.length; k++) {
      const ms = Math.max(0, marks[k + 1]![1] - marks[k]![1]);
      console.log(`  ${marks[k]![0].padEnd(44)} ${String(ms).padStart(6)} ms  ${(ms / delay).toFixed(1).padStart(5)} round trips`);
    }
    // In-flight histogram per 100 ms.
    const buckets: string[] = [];
    for (let t = first; t < last; t += 100) {
      const n = all.filter((x) => x.startedAt <= t && x.startedAt + x.durationMs > t).length;
      buckets.push(String(n));
    }
    console.log(`  in flight every 100 ms: ${buckets.join(' ')}`);
    const durs = all.map((x) => x.durationMs).sort((a, b) => a - b);
    console.log(`  request durations at proxy: median ${durs[durs.length >> 1]} ms, p90 ${durs[Math.floor(durs.length * 0.9)]} ms, max ${durs[durs.length - 1]} ms`);
  }
  await ps.stop();
  await pt.stop();
} finally {
  await source.stop();
  await target.stop();
}
