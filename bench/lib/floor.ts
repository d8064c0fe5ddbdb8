// The floor: the same blobs and manifests pushed to the target registry by plain parallel curl
// uploads from files (POST a session, PUT ?digest= with the bytes; manifests by digest, then the
// root by tag), N transfers at a time. Nothing is read from the source registry and nothing is
// checked first: it is what the target registry itself can take on this machine, a lower bound
// that no copy tool can beat.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runMeasured } from './proc.js';

export interface FloorBlob {
  digest: string;
  size: number;
  path: string;
}

export interface FloorManifest {
  digest: string;
  mediaType: string;
  path: string;
  /** 0 for the root; children of the root 1, and so on. */
  depth: number;
}

export interface FloorImage {
  blobs: FloorBlob[];
  /** Every manifest of the image, the root included. */
  manifests: FloorManifest[];
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** CPU of the curl processes of the current push (GNU time), summed. */
let cpuMs = 0;

async function curlParallel(workDir: string, name: string, parallel: number, transfers: string[][], timeoutMs: number): Promise<string[]> {
  if (!transfers.length) return [];
  const cfg = join(workDir, `${name}.curlrc`);
  writeFileSync(cfg, transfers.map((t) => t.join('\n')).join('\nnext\n') + '\n');
  const r = await runMeasured('curl', ['-sS', '--parallel', '--parallel-immediate', '--parallel-max', String(parallel), '-K', cfg], { timeoutMs, maxOutput: 8 * 1024 * 1024 });
  cpuMs += r.cpuMs ?? 0;
  if (r.code !== 0) throw new Error(`floor: curl (${name}) exited with ${r.code ?? r.signal}: ${r.stderr.slice(-2000)}`);
  return r.stdout.split('\n').filter(Boolean);
}

function expectCodes(lines: string[], count: number, codes: string[], what: string): void {
  const bad = lines.filter((l) => !codes.includes(l.split(' ')[0]!));
  if (lines.length !== count || bad.length) throw new Error(`floor: ${what}: expected ${count} × ${codes.join('/')}, got ${lines.length} answers: ${bad.slice(0, 3).join(' | ')}`);
}

/** Pushes `image` into `repo:tag` of the registry at `baseUrl`; returns the wall time. */
export async function floorPush(o: { baseUrl: string; repo: string; tag: string; image: FloorImage; parallel: number; workDir: string; timeoutMs: number }): Promise<{ wallMs: number; cpuMs: number }> {
  cpuMs = 0;
  const started = performance.now();
  const { baseUrl, repo, image, parallel, workDir } = o;
  const common = (wo: string) => ['output = "/dev/null"', `write-out = ${quote(wo)}`];

  // 1. One upload session per blob (any session serves any blob).
  const sessions = await curlParallel(
    workDir,
    'sessions',
    parallel,
    image.blobs.map(() => [`url = ${quote(`${baseUrl}/v2/${repo}/blobs/uploads/`)}`, 'request = "POST"', 'header = "Content-Length: 0"', ...common('%{http_code} %header{location}\\n')]),
    o.timeoutMs,
  );
  expectCodes(sessions, image.blobs.length, ['202'], 'POST upload sessions');
  const locations = sessions.map((l) => new URL(l.slice(4).trim(), `${baseUrl}/`).toString());

  // 2. Every blob in one PUT with its bytes, streamed from the file.
  const puts = await curlParallel(
    workDir,
    'blobs',
    parallel,
    image.blobs.map((b, i) => {
      const u = new URL(locations[i]!);
      u.searchParams.set('digest', b.digest);
      return [`url = ${quote(u.toString())}`, `upload-file = ${quote(b.path)}`, 'header = "Content-Type: application/octet-stream"', 'header = "Expect:"', ...common('%{http_code}\\n')];
    }),
    o.timeoutMs,
  );
  expectCodes(puts, image.blobs.length, ['201'], 'PUT blobs');

  // 3. Manifests by digest, deepest first, each level in parallel; 4. the root by tag.
  const depths = [...new Set(image.manifests.map((m) => m.depth))].sort((a, b) => b - a);
  for (const depth of depths) {
    const level = image.manifests.filter((m) => m.depth === depth);
    const answers = await curlParallel(
      workDir,
      `manifests-${depth}`,
      parallel,
      level.map((m) => [
        `url = ${quote(`${baseUrl}/v2/${repo}/manifests/${depth === 0 ? o.tag : m.digest}`)}`,
        'request = "PUT"',
        `data-binary = ${quote(`@${m.path}`)}`,
        `header = ${quote(`Content-Type: ${m.mediaType}`)}`,
        ...common('%{http_code}\\n'),
      ]),
      o.timeoutMs,
    );
    expectCodes(answers, level.length, ['201'], `PUT manifests (depth ${depth})`);
  }
  return { wallMs: performance.now() - started, cpuMs };
}

/** The floor of a no-op re-run: one HEAD of the source tag and one of the target tag, in parallel. */
export async function floorNoop(o: { source: string; target: string; accept: string; workDir: string; timeoutMs: number }): Promise<{ wallMs: number; cpuMs: number }> {
  cpuMs = 0;
  const started = performance.now();
  const answers = await curlParallel(
    o.workDir,
    'noop',
    2,
    [o.source, o.target].map((url) => [`url = ${quote(url)}`, 'head', `header = ${quote(`Accept: ${o.accept}`)}`, 'output = "/dev/null"', 'write-out = "%{http_code}\\n"']),
    o.timeoutMs,
  );
  expectCodes(answers, 2, ['200'], 'HEAD manifests');
  return { wallMs: performance.now() - started, cpuMs };
}
