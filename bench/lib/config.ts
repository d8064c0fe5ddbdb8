// Everything the bench can be told through the environment (see bench/README.md).

const MiB = 1024 * 1024;

export type ScenarioId = 'bandwidth' | 'latency' | 'huge' | 'noop' | 'sync';
/** relay: node:http hashing every byte (the floor of a verifying copy); curl-relay: curl into curl. */
export type ContenderId = 'acr-import' | 'baseline' | 'relay' | 'floor' | 'curl-relay' | 'skopeo';
export const ALL_SCENARIOS: ScenarioId[] = ['bandwidth', 'latency', 'huge', 'noop', 'sync'];
export const ALL_CONTENDERS: ContenderId[] = ['acr-import', 'baseline', 'relay', 'floor', 'curl-relay', 'skopeo'];
/** Contenders of the no-op re-runs: a relay has nothing to skip with. */
export const NOOP_CONTENDERS: ContenderId[] = ['acr-import', 'baseline', 'floor', 'skopeo'];

export interface BenchConfig {
  quick: boolean;
  scenarios: ScenarioId[];
  contenders: ContenderId[];
  /** Runs per contender for the big scenarios (bandwidth, huge). */
  runsBig: number;
  /** Runs per contender for the small ones (latency, no-op). */
  runsSmall: number;
  startupRuns: number;
  bandwidth: { platforms: number; layersPerPlatform: number; layerBytes: number };
  latency: { platforms: number; layersPerPlatform: number; layerBytes: number; delayMs: number };
  huge: { layerBytes: number };
  /** Parallel uploads of the floor and the relays (acr-import's default --concurrency is 8). */
  floorParallel: number;
  /** Extra arguments for every acr-import run, e.g. "--concurrency 16". */
  acrArgs: string[];
  /** BENCH_ACR_ENV: `NAME=value …` added to the environment of every acr-import run (the baseline's too). */
  acrEnv: Record<string, string>;
  /** Per-run time limit. */
  timeoutMs: number;
  /** Write a --cpu-prof profile of every acr-import run into bench/results/profiles/. */
  cpuProf: boolean;
}

function int(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number, not '${v}'`);
  return Math.floor(n);
}

function list<T extends string>(name: string, all: T[]): T[] {
  const v = process.env[name];
  if (!v) return all;
  const wanted = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const w of wanted) if (!all.includes(w as T)) throw new Error(`${name}: unknown '${w}' (one of ${all.join(', ')})`);
  return all.filter((a) => wanted.includes(a));
}

export function loadConfig(): BenchConfig {
  const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
  const scenarios = list('BENCH_SCENARIOS', ALL_SCENARIOS);
  return {
    quick,
    scenarios,
    // 'baseline' runs only when BENCH_BASELINE_BIN names a build.
    contenders: list('BENCH_CONTENDERS', ALL_CONTENDERS).filter((c) => c !== 'baseline' || Boolean(process.env.BENCH_BASELINE_BIN)),
    runsBig: Math.max(1, int('BENCH_RUNS_BIG', int('BENCH_RUNS', quick ? 1 : 3))),
    runsSmall: Math.max(1, int('BENCH_RUNS_SMALL', int('BENCH_RUNS', quick ? 2 : 5))),
    startupRuns: Math.max(1, int('BENCH_STARTUP_RUNS', quick ? 5 : 10)),
    bandwidth: {
      platforms: int('BENCH_BANDWIDTH_PLATFORMS', 4),
      layersPerPlatform: int('BENCH_BANDWIDTH_LAYERS', 2),
      layerBytes: int('BENCH_BANDWIDTH_LAYER_MIB', quick ? 16 : 128) * MiB,
    },
    latency: {
      platforms: int('BENCH_LATENCY_PLATFORMS', quick ? 10 : 40),
      layersPerPlatform: int('BENCH_LATENCY_LAYERS', 2),
      layerBytes: int('BENCH_LATENCY_LAYER_KIB', 32) * 1024,
      delayMs: int('BENCH_DELAY_MS', 25),
    },
    // Quick mode still goes over the 256 MiB chunked-upload threshold, so that path is exercised.
    huge: { layerBytes: int('BENCH_HUGE_MIB', quick ? 300 : 1536) * MiB },
    floorParallel: Math.max(1, int('BENCH_FLOOR_PARALLEL', 8)),
    acrArgs: (process.env.BENCH_ACR_ARGS ?? '').split(/\s+/).filter(Boolean),
    acrEnv: envPairs(process.env.BENCH_ACR_ENV),
    timeoutMs: int('BENCH_TIMEOUT_S', 600) * 1000,
    cpuProf: process.env.BENCH_CPU_PROF === '1',
  };
}

/** `NAME=value NAME2=value2` (from an environment variable) as an object. */
export function envPairs(text: string | undefined): Record<string, string> {
  return Object.fromEntries((text ?? '').split(/\s+/).filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}
