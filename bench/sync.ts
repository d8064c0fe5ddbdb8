// Bench scenario 5 (issue #14): mirror a set of multi-arch images that share base layers, through
// the 25 ms proxies, with `acr-import sync` against a shell loop of one `acr-import` per image
// and against `skopeo sync --src yaml`; then the same sync again with nothing changed (HEADs only).
// Run by `npm run bench` (BENCH_SCENARIOS=sync for this one alone), or `npx tsx bench/sync.ts`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pushImage, type ImageSpec, type RunningProxy, type RunningRegistry } from '../test/harness/index.js';
import { ACR_IMPORT_BIN, clearSkopeoCache, countRequests, type RequestCount } from './lib/contenders.js';
import { startRecordingProxy, startRegistries, verifyCopy } from './lib/lab.js';
import { runChecked } from './lib/proc.js';
import { fmtRatio, fmtSeconds, fmtTime, ratio, summarize, type Summary } from './lib/stats.js';

export interface SyncBenchOptions {
  source: RunningRegistry;
  target: RunningRegistry;
  work: string;
  /** Runs per contender (they alternate). */
  runs: number;
  delayMs: number;
  timeoutMs: number;
  log: (line: string) => void;
}

type Contender = 'sync' | 'loop' | 'skopeo-sync';
const CONTENDERS: Contender[] = ['sync', 'loop', 'skopeo-sync'];
const KiB = 1024;

export interface SyncBenchResult {
  images: number;
  description: string;
  times: Partial<Record<Contender, Summary>>;
  ratios: { syncToLoop?: number; syncToSkopeo?: number };
  /** The re-run: wall time (process start to exit), the run's own time (its json durationMs, start-up excluded), requests. */
  noop: { time?: Summary; ownTime?: Summary; requests?: RequestCount };
  /** Bytes the first sync run sent to the target (blobs and manifests), and the layer bytes the images hold in all. */
  uploadedBytes?: number;
  imageBytes: number;
  targets: { name: string; met: boolean | null; detail: string }[];
  markdown: string;
}

const arches = ['amd64', 'arm64'];

/**
 * Image i: a 2-platform index; each platform has a base layer every image shares (the OS), a
 * runtime layer shared by a group of five images, and a layer of its own.
 */
function platformImages(i: number): ImageSpec[] {
  const layers = (arch: string) => [
    { seed: `bench-sync/os/${arch}`, size: 256 * KiB },
    { seed: `bench-sync/runtime${Math.floor(i / 5)}/${arch}`, size: 128 * KiB },
    { seed: `bench-sync/app${i}/${arch}`, size: 64 * KiB },
  ];
  return arches.map((arch) => ({ kind: 'image', platform: { os: 'linux', architecture: arch }, layers: layers(arch) }));
}

export async function syncScenario(o: SyncBenchOptions): Promise<SyncBenchResult> {
  const count = Number(process.env.BENCH_SYNC_IMAGES ?? 30);
  const description = `${count} images, each a 2-platform index whose platforms share a 256 KiB base layer with every other image and a 128 KiB runtime layer with 4 others (64 KiB of their own), ${o.delayMs} ms added to every request by a proxy in front of each registry`;
  o.log(`\n== 5. Sync of a set: ${description}`);
  o.log('  pushing the images into the source registry…');
  const images: { repo: string; digest: string }[] = [];
  for (let i = 0; i < count; i++) {
    const repo = `bench-sync/img${String(i).padStart(2, '0')}`;
    const r = await pushImage(o.source, repo, 'v1', { kind: 'index', platforms: [], children: platformImages(i) }, { concurrency: 4 });
    images.push({ repo, digest: r.digest });
  }
  const imageBytes = count * arches.length * (256 + 128 + 64) * KiB;
  const proxies = { source: await startRecordingProxy(o.source, o.delayMs), target: await startRecordingProxy(o.target, o.delayMs) };
  const times: Record<Contender, number[]> = { sync: [], loop: [], 'skopeo-sync': [] };
  let uploadedBytes: number | undefined;
  const noopTimes: number[] = [];
  const noopOwnTimes: number[] = [];
  let noopRequests: RequestCount | undefined;
  try {
    for (let run = 0; run < o.runs; run++) {
      for (const c of [...CONTENDERS.slice(run % 3), ...CONTENDERS.slice(0, run % 3)]) {
        const prefix = `bench-sync-${c}-${run}`;
        proxies.source.clear();
        proxies.target.clear();
        const { wallMs: ms } = await copySet(c, images, prefix, proxies, o);
        times[c].push(ms);
        for (const img of images) await verifyCopy(o.target, `${prefix}/${img.repo.split('/')[1]}`, 'v1', img.digest);
        const uploaded = proxies.target.requests.filter((q) => q.method === 'PUT' || q.method === 'PATCH').reduce((n, q) => n + Number(q.requestHeaders['content-length'] ?? 0), 0);
        if (c === 'sync' && run === 0) uploadedBytes = uploaded;
        o.log(`    ${c.padEnd(11)} run ${run + 1}: ${fmtSeconds(ms)} s, ${countRequests(proxies).total} requests`);
        if (c === 'sync') {
          // The same sync again: everything is in place.
          proxies.source.clear();
          proxies.target.clear();
          const again = await copySet('sync', images, prefix, proxies, o);
          noopTimes.push(again.wallMs);
          if (again.ownMs !== undefined) noopOwnTimes.push(again.ownMs);
          noopRequests = countRequests(proxies);
          o.log(`    sync again (nothing changed) run ${run + 1}: ${fmtSeconds(again.wallMs)} s (the run itself ${again.ownMs === undefined ? '?' : fmtSeconds(again.ownMs)} s), ${Object.entries(noopRequests.byMethod).map(([m, n]) => `${n} ${m}`).join(', ')}`);
        }
      }
    }
  } finally {
    await Promise.all([proxies.source.stop(), proxies.target.stop()]);
  }
  const stats = Object.fromEntries(CONTENDERS.map((c) => [c, summarize(times[c])])) as Record<Contender, Summary | undefined>;
  const noop = summarize(noopTimes);
  const noopOwn = summarize(noopOwnTimes);
  const syncToLoop = ratio(stats.sync, stats.loop);
  const syncToSkopeo = ratio(stats.sync, stats['skopeo-sync']);
  const headOnly = noopRequests ? Object.keys(noopRequests.byMethod).every((m) => m === 'HEAD' || m === 'GET') && (noopRequests.byMethod.GET ?? 0) <= 2 : null;
  const targets = [
    { name: 'sync ≤ 0.3 × the shell loop', met: syncToLoop === undefined ? null : syncToLoop <= 0.3, detail: fmtRatio(syncToLoop) },
    { name: 'sync ≤ 0.5 × skopeo sync', met: syncToSkopeo === undefined ? null : syncToSkopeo <= 0.5, detail: fmtRatio(syncToSkopeo) },
    { name: 'no-change re-run ≤ 2 s', met: noop ? noop.median <= 2000 : null, detail: noop ? `${fmtSeconds(noop.median)} s` : '–' },
    {
      name: 'no-change re-run: HEAD requests only (besides a GET /v2/ ping per registry)',
      met: headOnly,
      detail: noopRequests ? Object.entries(noopRequests.byMethod).map(([m, n]) => `${n} ${m}`).join(', ') : '–',
    },
  ];
  const markdown = [
    `| 5. Sync of ${count} multi-arch images (${o.delayMs} ms proxies) | time | vs acr-import sync |`,
    '|---|---|---|',
    `| \`acr-import sync\` | ${fmtTime(stats.sync)} | 1 |`,
    `| shell loop of \`acr-import\` | ${fmtTime(stats.loop)} | ${fmtRatio(syncToLoop)} ← sync / loop |`,
    `| \`skopeo sync --src yaml\` | ${fmtTime(stats['skopeo-sync'])} | ${fmtRatio(syncToSkopeo)} ← sync / skopeo |`,
    `| \`acr-import sync\` again, nothing changed | ${fmtTime(noop)}; the run itself ${fmtTime(noopOwn)} | ${noopRequests ? Object.entries(noopRequests.byMethod).map(([m, n]) => `${n} ${m}`).join(', ') : ''} |`,
  ].join('\n');
  return { images: count, description, times: stats, ratios: { syncToLoop, syncToSkopeo }, noop: { time: noop, ownTime: noopOwn, requests: noopRequests }, uploadedBytes, imageBytes, targets, markdown };
}

/** One contender's copy of the whole set into `<prefix>/imgNN:v1`: the wall time in ms, and for sync its own (json durationMs). */
async function copySet(c: Contender, images: { repo: string }[], prefix: string, proxies: Record<'source' | 'target', RunningProxy>, o: SyncBenchOptions): Promise<{ wallMs: number; ownMs?: number }> {
  const env = { ...process.env, NO_COLOR: '1' };
  const src = proxies.source.host;
  const dst = proxies.target.host;
  const name = (repo: string) => repo.split('/')[1]!;
  if (c === 'sync') {
    const file = join(o.work, `${prefix}.yaml`);
    writeFileSync(file, `target: ${dst}\nimages:\n${images.map((i) => `  - source: ${src}/${i.repo}:v1\n    repository: ${prefix}/${name(i.repo)}\n`).join('')}`);
    const r = await runChecked(process.execPath, [ACR_IMPORT_BIN, 'sync', file, '-o', 'json'], { env, timeoutMs: o.timeoutMs, rss: false });
    return { wallMs: r.wallMs, ownMs: (JSON.parse(r.stdout) as { durationMs: number }).durationMs };
  }
  if (c === 'loop') {
    // What examples/seed-base-images.sh did before sync: one process per image.
    const lines = images.map((i) => `"${process.execPath}" "${ACR_IMPORT_BIN}" --name ${dst} --source ${src}/${i.repo}:v1 -t ${prefix}/${name(i.repo)}:v1 -q`).join('\n');
    const script = join(o.work, `${prefix}.sh`);
    writeFileSync(script, `set -e\n${lines}\n`);
    return { wallMs: (await runChecked('bash', [script], { env, timeoutMs: o.timeoutMs, rss: false })).wallMs };
  }
  clearSkopeoCache();
  const file = join(o.work, `${prefix}-skopeo.yaml`);
  writeFileSync(file, `${src}:\n  tls-verify: false\n  images:\n${images.map((i) => `    ${i.repo}: [v1]\n`).join('')}`);
  // skopeo sync writes <dest>/<last path component>: the same names as the others.
  return { wallMs: (await runChecked('skopeo', ['sync', '--all', '--preserve-digests', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', file, `${dst}/${prefix}`], { timeoutMs: o.timeoutMs, rss: false })).wallMs };
}

/** `npx tsx bench/sync.ts`: this scenario alone, on registries of its own. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const work = mkdtempSync(join(tmpdir(), 'acr-import-bench-sync-'));
  const { source, target } = await startRegistries();
  try {
    const r = await syncScenario({ source, target, work, runs: Number(process.env.BENCH_RUNS ?? 3), delayMs: Number(process.env.BENCH_DELAY_MS ?? 25), timeoutMs: 600_000, log });
    console.log(`\n${r.markdown}\n`);
    for (const t of r.targets) console.log(`  ${t.met === null ? '?' : t.met ? '✓' : '✗'} ${t.name}: ${t.detail}`);
    console.log(`\nUploaded by the first sync (blobs and manifests): ${r.uploadedBytes} bytes; the images hold ${r.imageBytes} bytes of layers in all.`);
  } finally {
    await Promise.all([source.stop(), target.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}
