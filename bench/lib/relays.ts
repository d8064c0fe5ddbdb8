// The relays: copies that do the least a copier must do, for the bench to measure acr-import
// against. bench/tools/node-relay.mjs hands each blob's GET body straight to an upload PUT, 8 at a
// time, with node:http and a SHA-256 of every byte (the floor of a verifying copy: no retries, no
// resumes, no progress) or without the hash, or with undici; bench/tools/curl-relay.sh pipes one
// curl into another (no Node at all). Both then PUT the manifests from the fixture's files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fixture } from './lab.js';
import { runChecked, type Measured } from './proc.js';

const TOOLS = join(import.meta.dirname, '..', 'tools');

export interface RelayJob {
  /** Base URLs (a registry or a proxy in front of it). */
  sourceUrl: string;
  targetUrl: string;
  targetRepo: string;
  parallel: number;
  workDir: string;
  timeoutMs: number;
}

export type NodeRelayKind = 'http+sha256' | 'http' | 'undici';

/** node-relay.mjs with `kind`: node:http hashing every byte (the verifying floor), node:http alone, or undici alone. */
export function runNodeRelay(kind: NodeRelayKind, fx: Fixture, job: RelayJob): Promise<Measured> {
  const [client, check] = kind.split('+');
  const jobFile = join(job.workDir, `relay-${job.targetRepo.replace(/[^a-z0-9-]/gi, '-')}.json`);
  writeFileSync(jobFile, JSON.stringify({ sourceUrl: job.sourceUrl, sourceRepo: fx.repo, targetUrl: job.targetUrl, targetRepo: job.targetRepo, tag: fx.tag, parallel: job.parallel, blobs: fx.floor.blobs, manifests: fx.floor.manifests }));
  return runChecked(process.execPath, [join(TOOLS, 'node-relay.mjs'), client!, jobFile, ...(check ? [check] : [])], { timeoutMs: job.timeoutMs });
}

/** curl-relay.sh: curl piped into curl, `parallel` at a time. */
export function runCurlRelay(fx: Fixture, job: RelayJob): Promise<Measured> {
  const plan = join(job.workDir, `curl-relay-${fx.repo.replace(/[^a-z0-9-]/gi, '-')}.plan`);
  writeFileSync(plan, [...fx.floor.blobs.map((b) => `blob ${b.digest} ${b.size}`), ...fx.floor.manifests.map((m) => `manifest ${m.depth} ${m.digest} ${m.mediaType} ${m.path}`)].join('\n') + '\n');
  return runChecked('bash', [join(TOOLS, 'curl-relay.sh'), job.sourceUrl, fx.repo, job.targetUrl, job.targetRepo, fx.tag, plan, String(job.parallel)], { timeoutMs: job.timeoutMs });
}
