// Progress, driven by copy events: an ora spinner with a line per large blob on an interactive
// terminal; plain, periodic lines elsewhere (CI logs), all on stderr.
import type { Ora } from 'ora';
import type { CopyEvent } from '../copy/events.js';
import { formatBytes } from '../copy/plan.js';
import type { Console } from './console.js';

/** Blobs at least this large get their own progress line. */
const LARGE_BLOB = 16 * 1024 * 1024;
/** How often plain output reports bytes of a large blob. */
const PLAIN_INTERVAL_MS = 5_000;

export interface Progress {
  onEvent(e: CopyEvent): void;
  stop(): void;
}

export function interactive(c: Console): boolean {
  const s = c.stream;
  return Boolean(s.isTTY) && (s.columns ?? 0) > 0 && !c.env.CI && c.env.TERM !== 'dumb';
}

export async function createProgress(c: Console, totalBytes: number): Promise<Progress> {
  if (c.quiet) return { onEvent: () => undefined, stop: () => undefined };
  if (interactive(c)) return spinnerProgress(c, totalBytes);
  return plainProgress(c);
}

function plainProgress(c: Console): Progress {
  const lastReport = new Map<string, number>();
  return {
    onEvent(e) {
      switch (e.type) {
        case 'blob-start':
          if (e.blob.size >= LARGE_BLOB) c.info(`  blob ${short(e.blob.digest)} ${formatBytes(e.blob.size)}: started`);
          lastReport.set(e.blob.digest, Date.now());
          break;
        case 'blob-progress': {
          const last = lastReport.get(e.blob.digest) ?? 0;
          if (e.blob.size >= LARGE_BLOB && Date.now() - last >= PLAIN_INTERVAL_MS) {
            lastReport.set(e.blob.digest, Date.now());
            c.info(`  blob ${short(e.blob.digest)}: ${formatBytes(e.bytes)} of ${formatBytes(e.blob.size)} (${Math.floor((e.bytes / e.blob.size) * 100)}%)`);
          }
          break;
        }
        case 'blob-done':
          c.info(`  blob ${short(e.blob.digest)} ${formatBytes(e.blob.size)}: ${e.outcome}`);
          break;
        case 'manifest-pushed':
          c.info(`  manifest ${short(e.digest)}: ${e.skipped ? 'already present' : 'pushed'}`);
          break;
        case 'tag-pushed':
          c.info(`  ${e.repository}:${e.tag}: ${e.skipped ? 'unchanged' : 'tagged'}`);
          break;
        case 'referrer-written':
          c.info(`  referrer ${short(e.digest)}${e.artifactType ? ` (${e.artifactType})` : ''} of ${short(e.subject)}: ${REFERRER_HOW[e.how]}`);
          break;
        case 'note':
          c.info(`  note: ${e.message}`);
          break;
        default:
          break;
      }
    },
    stop() {},
  };
}

async function spinnerProgress(c: Console, totalBytes: number): Promise<Progress> {
  const { default: ora } = await import('ora');
  // ora colours its spinner on its own; the console has decided whether colour is wanted.
  const spinner: Ora = ora({ stream: c.stream, text: 'Copying', color: c.color ? 'cyan' : false }).start();
  const active = new Map<string, { size: number; bytes: number; started: number }>();
  let doneBytes = 0;
  const render = () => {
    // Bytes of blobs still in flight count too: a few large blobs half done are most of the work.
    let inFlight = 0;
    for (const b of active.values()) inFlight += b.bytes;
    const lines = [`Copying ${formatBytes(doneBytes + inFlight)} of ${formatBytes(totalBytes)}`];
    for (const [digest, b] of active) {
      if (b.size < LARGE_BLOB) continue;
      const secs = Math.max(0.001, (Date.now() - b.started) / 1000);
      lines.push(`  ${short(digest)} ${formatBytes(b.bytes)} / ${formatBytes(b.size)} ${formatBytes(b.bytes / secs)}/s`);
    }
    spinner.text = lines.join('\n');
  };
  return {
    onEvent(e) {
      if (e.type === 'blob-start') active.set(e.blob.digest, { size: e.blob.size, bytes: 0, started: Date.now() });
      else if (e.type === 'blob-progress') {
        const b = active.get(e.blob.digest);
        if (b) b.bytes = e.bytes;
      } else if (e.type === 'blob-done') {
        active.delete(e.blob.digest);
        doneBytes += e.blob.size;
      } else if (e.type === 'note') {
        spinner.clear();
        c.info(`note: ${e.message}`);
      } else return;
      render();
    },
    stop() {
      spinner.stop();
    },
  };
}

/** How a target came to list a referrer, in words. */
const REFERRER_HOW = { api: 'written (the registry lists it from its subject)', 'tag-schema': 'written and listed in the referrers tag', index: 'written and listed in index.json', tag: 'tagged (cosign)', stored: 'written' } as const;

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}
