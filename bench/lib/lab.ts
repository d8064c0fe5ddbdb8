// The bench's registries and fixtures: two real Distribution registries on loopback (source and
// target), optional recording / delaying proxies in front of them, images pushed into the source
// with the test harness, and their blobs and manifests exported to files for the floor.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { faults, getManifest, pushImage, startProxy, startRegistry, MediaTypes, type FixtureSpec, type PushResult, type PushedManifest, type RunningProxy, type RunningRegistry } from '../../test/harness/index.js';
import type { FloorImage } from './floor.js';

export const MANIFEST_ACCEPT = [MediaTypes.ociIndex, MediaTypes.ociManifest, MediaTypes.dockerManifestList, MediaTypes.dockerManifest].join(', ');

export interface Fixture {
  repo: string;
  tag: string;
  result: PushResult;
  /** Blob bytes in all (what a copy moves, manifests aside). */
  blobBytes: number;
  floor: FloorImage;
}

export async function startRegistries(): Promise<{ source: RunningRegistry; target: RunningRegistry }> {
  const [source, target] = await Promise.all([startRegistry({ startTimeoutMs: 30_000 }), startRegistry({ startTimeoutMs: 30_000 })]);
  return { source, target };
}

/** The pid of a registry's own process: setpriv execs it, so the newest match of its config path is the registry. */
export function registryPid(r: RunningRegistry): number {
  return Math.max(...execFileSync('pgrep', ['-f', r.configPath], { encoding: 'utf8' }).trim().split('\n').map(Number));
}

/** A proxy that records every request and, with `delayMs`, holds each one that long first. */
export function startRecordingProxy(upstream: RunningRegistry, delayMs = 0): Promise<RunningProxy> {
  return startProxy({ upstream: upstream.url, hook: delayMs > 0 ? () => faults.delay(delayMs) : undefined });
}

/** Pushes `spec` into the source and exports its blobs and manifests under `dir` for the floor. */
export async function buildFixture(source: RunningRegistry, repo: string, tag: string, spec: FixtureSpec, dir: string): Promise<Fixture> {
  const result = await pushImage(source, repo, tag, spec, { concurrency: 4 });
  mkdirSync(dir, { recursive: true });
  const blobs = [];
  for (const b of result.blobs.filter((x) => x.pushed)) {
    const path = join(dir, b.digest.replace(':', '-'));
    await download(`${source.url}/v2/${repo}/blobs/${b.digest}`, path, b.digest);
    blobs.push({ digest: b.digest, size: b.size, path });
  }
  const depthOf = new Map<string, number>();
  const walk = (m: PushedManifest, depth: number) => {
    depthOf.set(m.digest, Math.max(depthOf.get(m.digest) ?? 0, depth));
    m.children.forEach((c) => walk(c, depth + 1));
  };
  walk(result, 0);
  const seen = new Set<string>();
  const manifests = [];
  for (const m of result.manifests) {
    if (seen.has(m.digest)) continue;
    seen.add(m.digest);
    const path = join(dir, `manifest-${m.digest.replace(':', '-')}`);
    writeFileSync(path, m.bytes);
    manifests.push({ digest: m.digest, mediaType: m.mediaType, path, depth: depthOf.get(m.digest)! });
  }
  return { repo, tag, result, blobBytes: blobs.reduce((n, b) => n + b.size, 0), floor: { blobs, manifests } };
}

async function download(url: string, path: string, digest: string): Promise<void> {
  const res = await request(url, { bodyTimeout: 0, headersTimeout: 60_000 });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`GET ${url} -> ${res.statusCode}`);
  }
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(res.body, tap, createWriteStream(path));
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== digest) throw new Error(`exported blob ${digest} hashes to ${got}`);
}

/** Whether `repo:tag` in `registry` holds exactly the manifest `digest` (checked on the bytes). */
export async function verifyCopy(registry: RunningRegistry, repo: string, tag: string, digest: string): Promise<void> {
  const m = await getManifest(registry, repo, tag);
  if (m.status !== 200) throw new Error(`verify: ${registry.host}/${repo}:${tag} answered ${m.status}`);
  const got = `sha256:${createHash('sha256').update(m.bytes).digest('hex')}`;
  if (got !== digest) throw new Error(`verify: ${registry.host}/${repo}:${tag} is ${got}, not ${digest}`);
}
