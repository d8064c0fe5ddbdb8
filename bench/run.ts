// `npm run bench`: acr-import against the floor of a verifying copy (a node:http relay hashing
// every byte), a curl floor pushing files, a curl relay and skopeo, on real registries. Builds
// fixtures in a local source registry, then times each scenario with the contenders alternating,
// and prints medians, ratios, CPU per GiB, peak RSS, start-up and request counts as a Markdown
// table (bench/results/latest.json has every figure). See bench/README.md for the knobs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningProxy, RunningRegistry, FixtureSpec } from '../test/harness/index.js';
import { ALL_CONTENDERS, NOOP_CONTENDERS, loadConfig, type BenchConfig, type ContenderId, type ScenarioId } from './lib/config.js';
import { ACR_IMPORT_BIN, BASELINE_BIN, ROOT, clearSkopeoCache, countRequests, runAcrImport, runSkopeo, skopeoVersion, type CopyJob, type RequestCount } from './lib/contenders.js';
import { floorNoop, floorPush } from './lib/floor.js';
import { runCurlRelay, runNodeRelay } from './lib/relays.js';
import { MANIFEST_ACCEPT, buildFixture, startRecordingProxy, startRegistries, verifyCopy, type Fixture } from './lib/lab.js';
import { cleanupProcScratch, rssMethod, runMeasured } from './lib/proc.js';
import { fmtMiB, fmtRatio, fmtSeconds, fmtTime, median, ratio, summarize, type Summary } from './lib/stats.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const RESULTS_DIR = join(ROOT, 'bench', 'results');
/** CPU is quoted per GiB for copies at least this large; per run below it (start-up dominates). */
const PER_GIB_FROM = 256 * MiB;
/** Issue #16's targets. */
const TARGETS = { bandwidthToRelay: 1.05, cpuPerGiBMs: 1900, latencyToFloor: 1.3, hugeRss: 100 * MiB, noopRss: 64 * MiB };

type RowId = ScenarioId | 'noop-loopback';

interface RunRecord {
  contender: ContenderId;
  run: number;
  targetRepo: string;
  wallMs: number;
  peakRss?: number;
  /** User + system CPU of the contender's process (not the registries'). */
  cpuMs?: number;
  /** 1-minute load average when the run started: the machine is shared. */
  loadAvg: number;
  requests?: RequestCount;
  /** From spawn to the first request a proxy saw: the contender's start-up (proxied runs only). */
  firstRequestMs?: number;
}

interface ContenderStats {
  time: Summary;
  cpuMs?: Summary;
  peakRss?: { median: number; max: number };
  requests?: { median: number; min: number; max: number; byMethod: Record<string, number> };
  /** Median CPU of the contender's own process per GiB of blobs copied. */
  cpuMsPerGiB?: number;
  firstRequestMs?: Summary;
}

interface Row {
  id: RowId;
  title: string;
  description: string;
  runs: RunRecord[];
  /** Blob bytes one copy moves. */
  bytes: number;
  stats: Partial<Record<ContenderId, ContenderStats>>;
  ratioToSkopeo?: number;
  ratioToFloor?: number;
  /** acr-import / the node:http relay hashing every byte: the floor of a verifying copy. */
  ratioToRelay?: number;
  /** acr-import / the build in BENCH_BASELINE_BIN (after / before). */
  ratioToBaseline?: number;
  /** Requests of one untimed acr-import run through recording proxies (scenarios without a proxy). */
  countingRun?: { wallMs: number; requests: RequestCount };
  notes: string[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function rotate<T>(items: T[], by: number): T[] {
  const k = items.length ? by % items.length : 0;
  return [...items.slice(k), ...items.slice(0, k)];
}

function syncDisks(): void {
  // Flush the previous run's writes so they are not paid for by the next contender.
  spawnSync('sync', { stdio: 'ignore' });
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function statsOf(records: RunRecord[], bytes: number): ContenderStats | undefined {
  const time = summarize(records.map((r) => r.wallMs));
  if (!time) return undefined;
  const rss = records.map((r) => r.peakRss).filter((x): x is number => x !== undefined);
  const reqs = records.map((r) => r.requests).filter((x): x is RequestCount => x !== undefined);
  const cpuMs = summarize(records.map((r) => r.cpuMs).filter((x): x is number => x !== undefined));
  return {
    time,
    cpuMs,
    cpuMsPerGiB: cpuMs && bytes >= PER_GIB_FROM ? cpuMs.median / (bytes / GiB) : undefined,
    firstRequestMs: summarize(records.map((r) => r.firstRequestMs).filter((x): x is number => x !== undefined)),
    peakRss: rss.length ? { median: median(rss), max: Math.max(...rss) } : undefined,
    requests: reqs.length
      ? { median: median(reqs.map((r) => r.total)), min: Math.min(...reqs.map((r) => r.total)), max: Math.max(...reqs.map((r) => r.total)), byMethod: reqs[reqs.length - 1]!.byMethod }
      : undefined,
  };
}

function finishRow(row: Row): Row {
  for (const c of ALL_CONTENDERS) {
    const s = statsOf(row.runs.filter((r) => r.contender === c), row.bytes);
    if (s) row.stats[c] = s;
  }
  row.ratioToSkopeo = ratio(row.stats['acr-import']?.time, row.stats.skopeo?.time);
  row.ratioToFloor = ratio(row.stats['acr-import']?.time, row.stats.floor?.time);
  row.ratioToRelay = ratio(row.stats['acr-import']?.time, row.stats.relay?.time);
  row.ratioToBaseline = ratio(row.stats['acr-import']?.time, row.stats.baseline?.time);
  return row;
}

class Bench {
  readonly rows: Row[] = [];
  private readonly proxies: RunningProxy[] = [];

  constructor(
    readonly cfg: BenchConfig,
    readonly source: RunningRegistry,
    readonly target: RunningRegistry,
    readonly work: string,
  ) {}

  async proxy(upstream: RunningRegistry, delayMs: number): Promise<RunningProxy> {
    const p = await startRecordingProxy(upstream, delayMs);
    this.proxies.push(p);
    return p;
  }

  async stopProxies(): Promise<void> {
    await Promise.all(this.proxies.splice(0).map((p) => p.stop()));
  }

  private cpuProfDir(scenario: string): string | undefined {
    return this.cfg.cpuProf ? join(RESULTS_DIR, 'profiles', scenario) : undefined;
  }

  /** One copy of `fixture` by `contender` into a fresh repository; verified afterwards. */
  async copy(contender: ContenderId, scenario: string, fixture: Fixture, job: CopyJob, run: number, proxies?: Record<string, RunningProxy>): Promise<RunRecord> {
    return this.timed(contender, scenario, fixture, job, run, proxies, false);
  }

  /** A re-run of a copy whose target already holds everything. */
  async noop(contender: ContenderId, scenario: string, fixture: Fixture, job: CopyJob, run: number, proxies?: Record<string, RunningProxy>): Promise<RunRecord> {
    return this.timed(contender, scenario, fixture, job, run, proxies, true);
  }

  private async timed(contender: ContenderId, scenario: string, fixture: Fixture, job: CopyJob, run: number, proxies: Record<string, RunningProxy> | undefined, noop: boolean): Promise<RunRecord> {
    for (const p of Object.values(proxies ?? {})) p.clear();
    const loadAvg = loadavg()[0]!;
    let r: { wallMs: number; peakRss?: number; cpuMs?: number; startedAt?: number };
    const relay = { sourceUrl: `http://${job.sourceHost}`, targetUrl: `http://${job.targetHost}`, targetRepo: job.targetRepo, parallel: this.cfg.floorParallel, workDir: this.work, timeoutMs: this.cfg.timeoutMs };
    if (contender === 'relay' || contender === 'curl-relay') {
      if (noop) throw new Error('a relay has no no-op run');
      r = contender === 'relay' ? await runNodeRelay('http+sha256', fixture, relay) : await runCurlRelay(fixture, relay);
    } else if (contender === 'acr-import' || contender === 'baseline') {
      const bin = contender === 'baseline' ? BASELINE_BIN : undefined;
      const a = await runAcrImport(job, { extraArgs: this.cfg.acrArgs, env: this.cfg.acrEnv, timeoutMs: this.cfg.timeoutMs, cpuProfDir: bin ? undefined : this.cpuProfDir(scenario), bin });
      if (noop && a.summary?.targets && !a.summary.targets.every((t) => t.action === 'unchanged')) throw new Error(`acr-import no-op run wrote something: ${a.stdout.slice(0, 500)}`);
      r = a;
    } else if (contender === 'skopeo') {
      r = await runSkopeo(job, { timeoutMs: this.cfg.timeoutMs });
    } else if (noop) {
      r = await floorNoop({
        source: `http://${job.sourceHost}/v2/${job.repo}/manifests/${job.tag}`,
        target: `http://${job.targetHost}/v2/${job.targetRepo}/manifests/${job.tag}`,
        accept: MANIFEST_ACCEPT,
        workDir: this.work,
        timeoutMs: this.cfg.timeoutMs,
      });
    } else {
      r = await floorPush({ baseUrl: `http://${job.targetHost}`, repo: job.targetRepo, tag: job.tag, image: fixture.floor, parallel: this.cfg.floorParallel, workDir: this.work, timeoutMs: this.cfg.timeoutMs });
    }
    const requests = proxies ? countRequests(proxies) : undefined;
    const firstSeen = Math.min(...Object.values(proxies ?? {}).flatMap((p) => p.requests.map((q) => q.startedAt)));
    const firstRequestMs = r.startedAt !== undefined && Number.isFinite(firstSeen) ? firstSeen - r.startedAt : undefined;
    await verifyCopy(this.target, job.targetRepo, job.tag, fixture.result.digest);
    const methods = requests ? Object.entries(requests.byMethod).map(([m, n]) => `${n} ${m}`).join(', ') : '';
    log(`    ${contender.padEnd(10)} run ${run + 1}: ${fmtSeconds(r.wallMs)} s${r.cpuMs !== undefined ? `, CPU ${fmtSeconds(r.cpuMs)} s` : ''}${r.peakRss ? `, peak RSS ${fmtMiB(r.peakRss)}` : ''}${requests ? `, ${requests.total} requests (${methods})` : ''}${firstRequestMs !== undefined ? `, first request after ${Math.round(firstRequestMs)} ms` : ''}`);
    return { contender, run, targetRepo: job.targetRepo, wallMs: r.wallMs, peakRss: r.peakRss, cpuMs: r.cpuMs, loadAvg, requests, firstRequestMs };
  }

  /** One untimed acr-import run through zero-delay recording proxies, to count its requests. */
  async countingRun(scenario: string, fixture: Fixture): Promise<Row['countingRun']> {
    const proxies = { source: await this.proxy(this.source, 0), target: await this.proxy(this.target, 0) };
    try {
      const job: CopyJob = { sourceHost: proxies.source.host, targetHost: proxies.target.host, repo: fixture.repo, tag: fixture.tag, targetRepo: `bench-${scenario}/acr-import-count` };
      const r = await runAcrImport(job, { extraArgs: this.cfg.acrArgs, env: this.cfg.acrEnv, timeoutMs: this.cfg.timeoutMs });
      const requests = countRequests(proxies);
      await verifyCopy(this.target, job.targetRepo, job.tag, fixture.result.digest);
      log(`    counting run (acr-import through recording proxies): ${requests.total} requests (${Object.entries(requests.byMethod).map(([m, n]) => `${n} ${m}`).join(', ')})`);
      return { wallMs: r.wallMs, requests };
    } finally {
      await this.stopProxies();
    }
  }

  /** Scenarios 1 and 3: registries on loopback, no proxy. */
  async bandwidthLike(id: 'bandwidth' | 'huge', title: string, description: string, spec: FixtureSpec): Promise<void> {
    const cfg = this.cfg;
    log(`\n== ${title}: ${description}`);
    const dir = join(this.work, id);
    log('  building the fixture in the source registry…');
    const fixture = await buildFixture(this.source, `bench/${id}`, 'v1', spec, dir);
    log(`  ${fixture.floor.blobs.length} blobs, ${fmtMiB(fixture.blobBytes)}, ${fixture.floor.manifests.length} manifests (${fixture.result.digest})`);
    const row: Row = { id, title, description, bytes: fixture.blobBytes, runs: [], stats: {}, notes: [] };
    try {
      for (let i = 0; i < cfg.runsBig; i++) {
        for (const c of rotate(cfg.contenders, i)) {
          syncDisks();
          const job: CopyJob = { sourceHost: this.source.host, targetHost: this.target.host, repo: fixture.repo, tag: fixture.tag, targetRepo: `bench-${id}/${c}-${i}` };
          row.runs.push(await this.copy(c, id, fixture, job, i));
        }
      }
      if (cfg.contenders.includes('acr-import')) {
        syncDisks();
        row.countingRun = await this.countingRun(id, fixture);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    this.rows.push(finishRow(row));
  }

  /** Scenarios 2 and 4: a delaying proxy in front of each registry; the no-op re-runs follow each fill. */
  async latencyAndNoop(): Promise<void> {
    const cfg = this.cfg;
    const l = cfg.latency;
    const wantLatency = cfg.scenarios.includes('latency');
    const wantNoop = cfg.scenarios.includes('noop');
    const title = `2. Latency-bound`;
    const description = `${l.platforms}-platform index, ${l.layersPerPlatform} × ${l.layerBytes / 1024} KiB layers per platform, ${l.delayMs} ms added to every request by a proxy in front of each registry`;
    log(`\n== ${title}: ${description}${wantNoop ? '; then 4. no-op re-runs' : ''}`);
    const dir = join(this.work, 'latency');
    log('  building the fixture in the source registry…');
    const fixture = await buildFixture(this.source, 'bench/latency', 'v1', { kind: 'index', platforms: l.platforms, layersPerImage: l.layersPerPlatform, layerSize: l.layerBytes }, dir);
    log(`  ${fixture.floor.blobs.length} blobs, ${fmtMiB(fixture.blobBytes)}, ${fixture.floor.manifests.length} manifests (${fixture.result.digest})`);
    const proxies = { source: await this.proxy(this.source, l.delayMs), target: await this.proxy(this.target, l.delayMs) };
    const fill: Row = { id: 'latency', title, description, bytes: fixture.blobBytes, runs: [], stats: {}, notes: [] };
    const noop: Row = {
      id: 'noop',
      title: '4. No-op re-run',
      description: `scenario 2 again into the repository just filled (same ${l.delayMs} ms proxies)`,
      bytes: 0,
      runs: [],
      stats: {},
      notes: ['floor: one HEAD of the source tag and one of the target tag, in parallel'],
    };
    const noopLoopback: Row = {
      id: 'noop-loopback',
      title: '4b. No-op re-run, loopback',
      description: 'the same no-op straight to the registries, no proxy',
      bytes: 0,
      runs: [],
      stats: {},
      notes: ['requests: as in 4'],
    };
    try {
      for (let i = 0; i < cfg.runsSmall; i++) {
        const jobs = new Map<ContenderId, CopyJob>();
        log(`  round ${i + 1}: fill`);
        // The curl relay starts three curl processes per blob: here it would time process start-up, not relaying.
        for (const c of rotate(cfg.contenders.filter((x) => x !== 'curl-relay'), i)) {
          const job: CopyJob = { sourceHost: proxies.source.host, targetHost: proxies.target.host, repo: fixture.repo, tag: fixture.tag, targetRepo: `bench-latency/${c}-${i}` };
          jobs.set(c, job);
          fill.runs.push(await this.copy(c, 'latency', fixture, job, i, proxies));
        }
        if (!wantNoop) continue;
        log(`  round ${i + 1}: no-op (proxied)`);
        const noopContenders = cfg.contenders.filter((c) => NOOP_CONTENDERS.includes(c));
        for (const c of rotate(noopContenders, i)) noop.runs.push(await this.noop(c, 'noop', fixture, jobs.get(c)!, i, proxies));
        log(`  round ${i + 1}: no-op (loopback)`);
        for (const c of rotate(noopContenders, i)) {
          const direct = { ...jobs.get(c)!, sourceHost: this.source.host, targetHost: this.target.host };
          noopLoopback.runs.push(await this.noop(c, 'noop-loopback', fixture, direct, i));
        }
      }
    } finally {
      await this.stopProxies();
      rmSync(dir, { recursive: true, force: true });
    }
    if (wantLatency) this.rows.push(finishRow(fill));
    if (wantNoop) {
      this.rows.push(finishRow(noop));
      this.rows.push(finishRow(noopLoopback));
    }
  }
}

async function startupTime(runs: number, bin = ACR_IMPORT_BIN): Promise<{ runs: number[]; median: number; min: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const r = await runMeasured(process.execPath, [bin, '--help'], { rss: false });
    if (r.code !== 0) throw new Error(`acr-import --help exited with ${r.code}: ${r.stderr}`);
    if (i > 0) times.push(r.wallMs); // the first run warms the page cache
  }
  return { runs: times, median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

function cell(s: ContenderStats | undefined): string {
  return fmtTime(s?.time);
}

function reqCell(row: Row): string {
  const acr = row.stats['acr-import']?.requests;
  const sk = row.stats.skopeo?.requests;
  const fmtReq = (r: NonNullable<ContenderStats['requests']>) => `${r.median}`;
  if (row.id === 'noop-loopback') return 'as 4';
  if (acr) return `${fmtReq(acr)}${sk ? ` / ${fmtReq(sk)}` : ''}`;
  if (row.countingRun) return `${row.countingRun.requests.total}`;
  return '–';
}

function cpuCell(s: ContenderStats | undefined): string {
  return s?.cpuMsPerGiB !== undefined ? `${fmtSeconds(s.cpuMsPerGiB)} s` : '–';
}

type Startup = { median: number; min: number; max: number };

function markdownTable(rows: Row[], startup: Startup): string {
  const lines = [
    '| Scenario | acr-import | verifying relay | floor | curl relay | skopeo | acr-import / relay | acr-import / floor | acr-import / skopeo | CPU acr-import / relay (per GiB, or per run) | peak RSS acr-import / skopeo | requests acr-import / skopeo |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const st = r.stats;
    const rss = `${fmtMiB(st['acr-import']?.peakRss?.max)} / ${fmtMiB(st.skopeo?.peakRss?.max)}`;
    const perRun = (x: ContenderStats | undefined) => (x?.cpuMs ? `${fmtSeconds(x.cpuMs.median)} s` : '–');
    const cpu = r.bytes >= PER_GIB_FROM ? `${cpuCell(st['acr-import'])} / ${cpuCell(st.relay)} per GiB` : `${perRun(st['acr-import'])} / ${perRun(st.relay)} per run`;
    lines.push(`| ${r.title} | ${cell(st['acr-import'])} | ${cell(st.relay)} | ${cell(st.floor)} | ${cell(st['curl-relay'])} | ${cell(st.skopeo)} | ${fmtRatio(r.ratioToRelay)} | ${fmtRatio(r.ratioToFloor)} | ${fmtRatio(r.ratioToSkopeo)} | ${cpu} | ${rss} | ${reqCell(r)} |`);
  }
  const noopStart = rows.find((r) => r.id === 'noop')?.stats['acr-import']?.firstRequestMs;
  lines.push(`| \`acr-import --help\` | ${Math.round(startup.median)} ms (${Math.round(startup.min)}–${Math.round(startup.max)}) | | | | | | | | | | |`);
  if (noopStart) lines.push(`| no-op start-up (to its first request) | ${Math.round(noopStart.median)} ms (${Math.round(noopStart.min)}–${Math.round(noopStart.max)}) | | | | | | | | | | |`);
  return lines.join('\n');
}

/** Before (BENCH_BASELINE_BIN) and after, from the same run: time, CPU, peak RSS, start-up. */
function baselineTable(rows: Row[], startup: Startup, baselineStartup: Startup | undefined): string | undefined {
  if (!rows.some((r) => r.stats.baseline)) return undefined;
  const lines = ['| Scenario | before | after | after / before | CPU before → after | peak RSS before → after | first request before → after |', '|---|---|---|---|---|---|---|'];
  const cpu = (s: ContenderStats | undefined, bytes: number) => (s?.cpuMs ? (bytes >= PER_GIB_FROM ? `${fmtSeconds(s.cpuMsPerGiB!)} s/GiB` : `${fmtSeconds(s.cpuMs.median)} s`) : '–');
  const first = (s: ContenderStats | undefined) => (s?.firstRequestMs ? `${Math.round(s.firstRequestMs.median)} ms` : '–');
  for (const r of rows) {
    const [b, a] = [r.stats.baseline, r.stats['acr-import']];
    if (!b || !a) continue;
    lines.push(`| ${r.title} | ${cell(b)} | ${cell(a)} | ${fmtRatio(r.ratioToBaseline)} | ${cpu(b, r.bytes)} → ${cpu(a, r.bytes)} | ${fmtMiB(b.peakRss?.max)} → ${fmtMiB(a.peakRss?.max)} | ${first(b)} → ${first(a)} |`);
  }
  if (baselineStartup) lines.push(`| \`--help\` | ${Math.round(baselineStartup.median)} ms | ${Math.round(startup.median)} ms | ${fmtRatio(startup.median / baselineStartup.median)} | | | |`);
  return lines.join('\n');
}

interface Target {
  name: string;
  /** null: not measured in this run (a contender or scenario left out). */
  met: boolean | null;
  detail: string;
}

function checkTargets(rows: Row[]): Target[] {
  const get = (id: RowId) => rows.find((r) => r.id === id);
  const out: Target[] = [];
  const within = (name: string, value: number | undefined, limit: number, detail: string) => out.push({ name, met: value === undefined ? null : value <= limit, detail: value === undefined ? 'not measured' : detail });
  const bw = get('bandwidth');
  if (bw) {
    within(`bandwidth-bound: acr-import / verifying relay ≤ ${TARGETS.bandwidthToRelay}`, bw.ratioToRelay, TARGETS.bandwidthToRelay, fmtRatio(bw.ratioToRelay));
    const cpu = bw.stats['acr-import']?.cpuMsPerGiB;
    within(`bandwidth-bound: acr-import's own CPU ≤ ${fmtSeconds(TARGETS.cpuPerGiBMs)} s per GiB`, cpu, TARGETS.cpuPerGiBMs, `${fmtSeconds(cpu ?? NaN)} s per GiB (relay ${fmtSeconds(bw.stats.relay?.cpuMsPerGiB ?? NaN)} s)`);
  }
  const lat = get('latency');
  if (lat) within(`latency-bound: acr-import / floor ≤ ${TARGETS.latencyToFloor}`, lat.ratioToFloor, TARGETS.latencyToFloor, `${fmtRatio(lat.ratioToFloor)} (to the verifying relay ${fmtRatio(lat.ratioToRelay)})`);
  const huge = get('huge')?.stats['acr-import']?.peakRss?.max;
  if (get('huge')) within(`peak RSS ≤ ${fmtMiB(TARGETS.hugeRss)} copying the huge layer`, huge, TARGETS.hugeRss, fmtMiB(huge));
  const noopRss = Math.max(...[get('noop'), get('noop-loopback')].map((r) => r?.stats['acr-import']?.peakRss?.max ?? -Infinity));
  if (get('noop')) within(`peak RSS ≤ ${fmtMiB(TARGETS.noopRss)} on a no-op re-run`, Number.isFinite(noopRss) ? noopRss : undefined, TARGETS.noopRss, fmtMiB(noopRss));
  const acrNoop = get('noop')?.runs.filter((r) => r.contender === 'acr-import' && r.requests);
  if (acrNoop?.length) {
    const methods = new Set(acrNoop.flatMap((r) => Object.keys(r.requests!.byMethod)));
    const byMethod = acrNoop[acrNoop.length - 1]!.requests!.byMethod;
    out.push({ name: 'no-op re-run: HEAD requests only', met: [...methods].every((m) => m === 'HEAD'), detail: Object.entries(byMethod).map(([m, n]) => `${n} ${m}`).join(', ') });
  }
  return out;
}

function gitInfo(): { commit?: string; dirty?: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bin', 'package.json'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return {};
  }
}

function diskNeeded(cfg: BenchConfig): number {
  const b = cfg.bandwidth;
  const bw = cfg.scenarios.includes('bandwidth') ? b.platforms * b.layersPerPlatform * b.layerBytes : 0;
  const huge = cfg.scenarios.includes('huge') ? cfg.huge.layerBytes : 0;
  // Source copy + target copy (blobs are stored once per registry) + the floor's files + upload slack.
  return 3 * (bw + huge) + 2 * GiB;
}

async function main(): Promise<void> {
  const cfg = loadConfig();
  for (const [cmd, pkg] of [['docker-registry', 'docker-registry'], ['skopeo', 'skopeo'], ['curl', 'curl']] as const) {
    if (!have(cmd)) throw new Error(`${cmd} is not installed: apt-get install -y ${pkg}`);
  }
  const version = spawnSync(process.execPath, [ACR_IMPORT_BIN, '--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error(`bin/acr-import.js does not run (${version.stderr.trim().split('\n')[0]}): run \`npm run build\` first (\`npm run bench\` does).`);
  const free = (() => {
    const s = statfsSync(tmpdir());
    return s.bavail * s.bsize;
  })();
  const needed = diskNeeded(cfg);
  if (free < needed) throw new Error(`${tmpdir()} has ${(free / GiB).toFixed(1)} GiB free; the bench needs about ${(needed / GiB).toFixed(1)} GiB.`);

  const work = mkdtempSync(join(tmpdir(), 'acr-import-bench-'));
  // Last resort when the process is ended before cleanup() is done (registries die with it: pdeathsig).
  process.once('exit', () => rmSync(work, { recursive: true, force: true }));
  log(`acr-import bench${cfg.quick ? ' (quick mode)' : ''}: ${cfg.scenarios.join(', ')}; ${cfg.runsBig} runs for big scenarios, ${cfg.runsSmall} for small; peak RSS by ${rssMethod()}`);
  log(`work dir ${work}; ${(free / GiB).toFixed(1)} GiB free in ${tmpdir()}`);
  const { source, target } = await startRegistries();
  const bench = new Bench(cfg, source, target, work);
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await bench.stopProxies().catch(() => undefined);
    await Promise.all([source.stop(), target.stop()]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    cleanupProcScratch();
    clearSkopeoCache();
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`\n${sig}: stopping the registries and removing ${work}…`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = Date.now();
  try {
    log(`registries: source ${source.host}, target ${target.host}`);
    log(`\n== acr-import --help start-up (${cfg.startupRuns} runs)`);
    const startup = await startupTime(cfg.startupRuns);
    log(`  median ${Math.round(startup.median)} ms (${Math.round(startup.min)}–${Math.round(startup.max)})`);
    const baselineStartup = BASELINE_BIN && cfg.contenders.includes('baseline') ? await startupTime(cfg.startupRuns, BASELINE_BIN) : undefined;
    if (baselineStartup) log(`  baseline: median ${Math.round(baselineStartup.median)} ms`);

    const b = cfg.bandwidth;
    if (cfg.scenarios.includes('bandwidth')) {
      await bench.bandwidthLike(
        'bandwidth',
        '1. Bandwidth-bound',
        `${b.platforms}-platform index, ${b.layersPerPlatform} × ${b.layerBytes / MiB} MiB layers per platform (${((b.platforms * b.layersPerPlatform * b.layerBytes) / GiB).toFixed(2)} GiB), registries on loopback`,
        { kind: 'index', platforms: b.platforms, layersPerImage: b.layersPerPlatform, layerSize: b.layerBytes },
      );
    }
    if (cfg.scenarios.includes('latency') || cfg.scenarios.includes('noop')) await bench.latencyAndNoop();
    if (cfg.scenarios.includes('huge')) {
      await bench.bandwidthLike('huge', '3. Huge layer', `one image, one ${(cfg.huge.layerBytes / GiB).toFixed(2)} GiB layer, registries on loopback`, {
        kind: 'image',
        layers: [{ size: cfg.huge.layerBytes, stream: true }],
      });
    }

    // Scenario 5 (issue #14): a set of images with `acr-import sync`, in bench/sync.ts.
    const syncSet = cfg.scenarios.includes('sync')
      ? await (await import('./sync.js')).syncScenario({ source, target, work, runs: cfg.runsBig, delayMs: cfg.latency.delayMs, timeoutMs: cfg.timeoutMs, log })
      : undefined;

    // The table in the issue's order: 1, 2, 3, 4.
    const order: RowId[] = ['bandwidth', 'latency', 'huge', 'noop', 'noop-loopback'];
    const rows = [...bench.rows].sort((x, y) => order.indexOf(x.id) - order.indexOf(y.id));
    const targets = [...checkTargets(rows), ...(syncSet?.targets ?? [])];
    const table = markdownTable(rows, startup);
    const beforeAfter = baselineTable(rows, startup, baselineStartup);
    const result = {
      date: new Date().toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / GiB), node: process.version, skopeo: await skopeoVersion(), rssMethod: rssMethod() },
      git: gitInfo(),
      config: cfg,
      startupMs: startup,
      baseline: BASELINE_BIN ? { bin: BASELINE_BIN, startupMs: baselineStartup } : undefined,
      scenarios: rows,
      sync: syncSet,
      targets,
      markdown: table,
      beforeAfter,
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const json = `${JSON.stringify(result, null, 2)}\n`;
    writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
    writeFileSync(join(RESULTS_DIR, `${result.date.replace(/[:.]/g, '-')}.json`), json);
    writeFileSync(join(RESULTS_DIR, 'latest.md'), `${table}\n${beforeAfter ? `\nBefore (${BASELINE_BIN}) and after:\n\n${beforeAfter}\n` : ''}${syncSet ? `\n${syncSet.markdown}\n` : ''}`);

    console.log(`\n${table}\n`);
    if (beforeAfter) console.log(`Before (${BASELINE_BIN}) and after, from this run:\n\n${beforeAfter}\n`);
    if (syncSet) console.log(`${syncSet.markdown}\n\n- 5. Sync of a set: ${syncSet.description}; medians of ${cfg.runsBig} runs, contenders alternating.\n`);
    for (const r of rows) {
      console.log(`- ${r.title}: ${r.description}.${r.countingRun ? ` Requests from one extra acr-import run through recording proxies: ${r.countingRun.requests.total} (${Object.entries(r.countingRun.requests.byMethod).map(([m, n]) => `${n} ${m}`).join(', ')}).` : ''}${r.notes.length ? ` ${r.notes.join('; ')}.` : ''}`);
    }
    const loads = rows.flatMap((r) => r.runs.map((x) => x.loadAvg));
    console.log(`\nMedians of ${cfg.runsBig} (big) / ${cfg.runsSmall} (small) runs, min–max in brackets; contenders alternate. Peak RSS is the largest of the runs. Verifying relay: node:http, each blob's GET body hashed (SHA-256) on its way to an upload PUT, ${cfg.floorParallel} at a time, no retries; floor: curl, ${cfg.floorParallel} parallel POST + PUT ?digest= uploads from files; curl relay: curl piped into curl, ${cfg.floorParallel} at a time; all three then PUT the manifests. ${cpus().length} cores; 1-minute load average at the start of the runs: median ${median(loads).toFixed(1)} (${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}).`);
    if (Object.keys(cfg.acrEnv).length) console.log(`acr-import ran with ${Object.entries(cfg.acrEnv).map(([k, v]) => `${k}=${v}`).join(' ')} in its environment (BENCH_ACR_ENV).`);
    console.log('\nCPU seconds of the contender\'s own process (median): ' + rows.map((r) => `${r.title.split(' ')[0]} ${ALL_CONTENDERS.map((c) => `${c} ${r.stats[c]?.cpuMs ? fmtSeconds(r.stats[c]!.cpuMs!.median) : '–'}`).join(', ')}`).join('; ') + '.');
    console.log('\nTargets:');
    for (const t of targets) console.log(`  ${t.met === null ? '?' : t.met ? '✓' : '✗'} ${t.name}: ${t.detail}`);
    console.log(`\nWritten: ${join('bench', 'results', 'latest.json')} (and latest.md)`);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((err) => {
  log(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
