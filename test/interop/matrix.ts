// The interop matrix as tables: which paths each side of an import takes, which request of a path a
// fault point hits, and what a case checks. Test files pick rows (source.test.ts, target.test.ts,
// chunked.test.ts); every case runs against a registry personality in front of the real registry.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROFILES, blobSize, describeHops, getManifest, pushImage, startPersonality, uniqueRepo, type FixtureSpec, type Hop, type Personality, type ProfileName, type Profile, type PushResult, type RequestInfo, type Scripted } from '../harness/index.js';
import { cli, expectExit, expectNoStack } from '../import/helpers.js';

export const open = inject('openRegistry');
const foreignServer = inject('foreignLayerServer');

/** Above the CLI's 1 MiB monolithic limit: uploaded as one streamed PATCH, downloaded in several reads. */
export const STREAMED_LAYER = 1200 * 1024;

export type Side = 'source' | 'target';
export type PathName = 'manifest-image' | 'manifest-index' | 'download' | 'foreign' | 'monolithic' | 'streamed' | 'mount-then-upload' | 'chunked';

export interface PathSpec {
  name: PathName;
  fixture: FixtureSpec;
  /** Extra CLI flags. */
  args?: string[];
}

const smallImage: FixtureSpec = { kind: 'image', layers: 1 };
export const PATHS: Record<PathName, PathSpec> = {
  'manifest-image': { name: 'manifest-image', fixture: smallImage },
  'manifest-index': { name: 'manifest-index', fixture: { kind: 'index', platforms: 2 } },
  download: { name: 'download', fixture: { kind: 'image', layers: [{ size: STREAMED_LAYER }] } },
  foreign: {
    name: 'foreign',
    fixture: { kind: 'image', layers: [{ size: 1024 }, { size: 2048, foreign: { serverUrl: foreignServer.url } }] },
    // The foreign-layer server is plain http on loopback: a host the user vouches for.
    args: ['--include-foreign-layers', '--allow-foreign-layer-host', '127.0.0.1'],
  },
  monolithic: { name: 'monolithic', fixture: smallImage },
  streamed: { name: 'streamed', fixture: { kind: 'image', layers: [{ size: STREAMED_LAYER }] } },
  'mount-then-upload': { name: 'mount-then-upload', fixture: smallImage },
  chunked: { name: 'chunked', fixture: smallImage },
};

/** Where a fault point strikes, given the case's fixture and repositories. */
export interface FaultPoint {
  /** e.g. "manifest GET: cut-mid". */
  name: string;
  answer: Scripted;
  when: (r: RequestInfo, c: CaseContext) => boolean;
}

export interface CaseContext {
  personality: Personality;
  repo: string;
  image: PushResult;
}

const isRegistry = (r: RequestInfo) => r.role === 'registry';
/** Bytes of a blob GET come from the side origin when the registry redirects them. */
const servesBytes = (r: RequestInfo, p: Profile) => (p.behaviours.signedBlobUrls || p.behaviours.redirectToRegional ? r.role === 'side' : r.role === 'registry');
const servesManifests = (r: RequestInfo, p: Profile) => (p.behaviours.redirectToRegional ? r.role === 'side' : r.role === 'registry');
const childDigest = (c: CaseContext) => c.image.children[0]?.digest;
const bigLayer = (c: CaseContext) => c.image.layers.reduce((a, l) => (l.size > a.size ? l : a)).digest;
/** The PUT that closes the upload of `digest` (the query is encoded by whoever built it). */
const closes = (r: RequestInfo, digest: string | undefined) =>
  r.kind === 'upload' && r.method === 'PUT' && !!digest && new URL(r.path, 'http://x').searchParams.get('digest') === digest;

const READ_FAULTS: Scripted[] = ['reset-before', 'cut-mid', 'reset-after', 'truncate-length', 'truncate-no-length'];
const WRITE_FAULTS: Scripted[] = ['reset-before', 'reset-after'];

/** The requests a profile's behaviours change; the control (no behaviours) stands for plain Distribution and takes every fault. */
type RequestClass = 'manifest-read' | 'blob-read' | 'upload' | 'manifest-write';
function touches(p: Profile, c: RequestClass): boolean {
  const b = p.behaviours;
  if (Object.keys(b).length === 0) return true;
  switch (c) {
    case 'manifest-read':
      return !!(b.redirectToRegional || b.dropDigest || b.manifestContentType || b.manifestHead405 || b.rateLimit);
    case 'blob-read':
      return !!(b.signedBlobUrls || b.redirectToRegional);
    case 'upload':
      return !!(b.signedUploadUrls || b.relativeUploadLocation || b.chunkMinLength || b.strictContentRange || b.stuckRange || b.loseSessionOnce || b.refuseMounts);
    case 'manifest-write':
      return !!(b.dropDigest === 'all' || b.manifestHead405);
  }
}

function points(what: string, answers: Scripted[], when: FaultPoint['when']): FaultPoint[] {
  return answers.map((answer) => ({ name: `${what}: ${answer}`, answer, when }));
}

/** 401 on the first request of a kind to the registry origin: a token revoked mid-import. */
function unauthorizedOn(what: string, when: FaultPoint['when']): FaultPoint[] {
  return points(what, ['unauthorized'], (r, c) => isRegistry(r) && when(r, c));
}

/** Fault points of each path, on the side whose personality is under test. */
export function faultPoints(side: Side, path: PathName, p: Profile): FaultPoint[] {
  if (p.behaviours.rewriteManifestDigest) return []; // every import into it fails at the first manifest: faults add nothing
  const signs = p.door.kind !== 'anonymous';
  // Resets and cuts where the profile changes the request; a 401 everywhere it signs in.
  const faults = (c: RequestClass, answers: Scripted[]) => (touches(p, c) ? answers : []);
  const auth = (what: string, when: FaultPoint['when']) => (signs ? unauthorizedOn(what, when) : []);
  // Uploads behind signed URLs go to a store that signs nothing in: no 401 there.
  const uploadAuth = (what: string, when: FaultPoint['when']) => (p.behaviours.signedUploadUrls ? [] : auth(what, when));
  const manifestGet = (r: RequestInfo, c: CaseContext, ref?: string) => r.kind === 'manifest' && r.method === 'GET' && r.path.includes(`/${c.repo}/`) && (!ref || r.reference === ref);
  const manifestPut = (r: RequestInfo, c: CaseContext, ref: string) => r.kind === 'manifest' && r.method === 'PUT' && r.repo === c.repo && r.reference === ref;
  if (side === 'source') {
    switch (path) {
      // An image's manifest is read by digest after a HEAD of the tag, as an index child is: the faults sit on the child.
      case 'manifest-index':
        return [
          ...points('child manifest GET', faults('manifest-read', READ_FAULTS), (r, c) => servesManifests(r, p) && manifestGet(r, c, childDigest(c))),
          ...auth('child manifest GET', (r, c) => manifestGet(r, c, childDigest(c))),
        ];
      case 'download': {
        const blobGet = (r: RequestInfo, c: CaseContext) => r.kind === 'blob' && r.method === 'GET' && r.reference === bigLayer(c) && r.path.includes(`/${c.repo}/`);
        return [...points('blob GET', faults('blob-read', READ_FAULTS), (r, c) => servesBytes(r, p) && blobGet(r, c)), ...auth('blob GET', blobGet)];
      }
      default:
        return [];
    }
  }
  switch (path) {
    case 'manifest-image':
      return [...points('manifest PUT', faults('manifest-write', WRITE_FAULTS), (r, c) => manifestPut(r, c, 'v1')), ...auth('manifest PUT', (r, c) => manifestPut(r, c, 'v1'))];
    case 'manifest-index':
      return [...points('child manifest PUT', faults('manifest-write', WRITE_FAULTS), (r, c) => manifestPut(r, c, childDigest(c)!)), ...auth('child manifest PUT', (r, c) => manifestPut(r, c, childDigest(c)!))];
    case 'monolithic': {
      const put = (r: RequestInfo, c: CaseContext) => r.repo === c.repo && closes(r, c.image.layers[0]!.digest);
      return [...points('blob PUT', faults('upload', WRITE_FAULTS), put), ...uploadAuth('blob PUT', put)];
    }
    case 'streamed': {
      const patch = (r: RequestInfo, c: CaseContext) => r.kind === 'upload' && r.method === 'PATCH' && r.repo === c.repo;
      const put = (r: RequestInfo, c: CaseContext) => r.repo === c.repo && closes(r, bigLayer(c));
      return [...points('PATCH', faults('upload', WRITE_FAULTS), patch), ...uploadAuth('PATCH', patch), ...points('closing PUT', faults('upload', WRITE_FAULTS), put), ...uploadAuth('closing PUT', put)];
    }
    case 'mount-then-upload': {
      const mount = (r: RequestInfo, c: CaseContext) => r.kind === 'upload' && r.method === 'POST' && r.repo === c.repo && r.path.includes('mount=');
      const put = (r: RequestInfo, c: CaseContext) => r.repo === c.repo && closes(r, c.image.layers[0]!.digest);
      return [...points('mount POST', faults('upload', ['reset-before']), mount), ...auth('mount POST', mount), ...points('PUT into the mount session', faults('upload', WRITE_FAULTS), put)];
    }
    default:
      return [];
  }
}

/** The paths each side takes through a personality. */
export const SOURCE_PATHS: PathName[] = ['manifest-image', 'manifest-index', 'download', 'foreign'];
export const TARGET_PATHS: PathName[] = ['manifest-image', 'manifest-index', 'monolithic', 'streamed', 'mount-then-upload', 'foreign'];

export function profilesFor(side: Side): ProfileName[] {
  return (Object.keys(PROFILES) as ProfileName[]).filter((n) => PROFILES[n][side]);
}

/** Exit code a case must end with: 0 (survived, byte-identical) unless the profile is one no client can succeed against. */
export function expectedExit(profile: ProfileName, side: Side): number {
  return side === 'target' && PROFILES[profile].behaviours.rewriteManifestDigest ? 9 : 0;
}

/** Starts one personality per profile, and the other side of every import (plain Distribution with its own user), in front of the shared registry. */
export async function startPersonalities(names: ProfileName[]): Promise<Record<string, Personality>> {
  const started = await Promise.all([
    ...names.map((n) => startPersonality(PROFILES[n], { upstream: open.url })),
    startPersonality(PROFILES.distribution, { upstream: open.url, name: COUNTERPART }),
  ]);
  return Object.fromEntries(started.map((p, i) => [names[i] ?? COUNTERPART, p]));
}
const COUNTERPART = 'counterpart';

/** Source or target credentials as CLI flags; anonymous where the profile is about anonymous pulls. */
export function credentialArgs(p: Personality, side: Side): string[] {
  if (!p.credentials) return [];
  if (side === 'source' && p.profile.door.anonymousPull && p.profile.door.placeholderScope) return [];
  return side === 'source' ? ['-u', p.credentials.username, '-p', p.credentials.password] : ['--target-username', p.credentials.username, '--target-password', p.credentials.password];
}

/** Hops of a case: its repositories' requests at every origin, and realm requests naming them. */
export function hopsOf(p: Personality, repos: string[]): Hop[] {
  return p.hops().filter((h) => repos.some((r) => h.repo === r || h.path.includes(`/${r}/`) || h.path.includes(`:${r}:`)));
}

/** The target holds exactly the source image: root bytes under the tag, every child and blob by digest. */
export async function expectCopied(repo: string, image: PushResult, withForeign: boolean): Promise<void> {
  const root = await getManifest(open, repo, 'v1');
  expect(root.status).toBe(200);
  expect(root.bytes.equals(image.bytes)).toBe(true);
  for (const m of image.manifests.slice(1)) {
    const got = await getManifest(open, repo, m.digest);
    expect(got.bytes.equals(m.bytes), `child ${m.digest}`).toBe(true);
  }
  for (const b of image.blobs) {
    if (!b.pushed && !withForeign) continue;
    expect(await blobSize(open, repo, b.digest), `blob ${b.digest}`).toBe(b.size);
  }
}

export async function expectNotTagged(repo: string): Promise<void> {
  expect((await getManifest(open, repo, 'v1')).status).toBe(404);
}

/** Nothing of one personality's secrets went where it does not belong. */
export function expectCredentialsStayed(cases: { personality: Personality; repos: string[] }[]): void {
  const leaks = cases.flatMap(({ personality, repos }) => personality.credentialLeaks(hopsOf(personality, repos)));
  const detail = cases.map(({ personality, repos }) => describeHops(hopsOf(personality, repos))).join('\n');
  expect(leaks, detail).toEqual([]);
}

// --- figures ------------------------------------------------------------------------------------

export interface Outcome {
  profile: string;
  side: Side;
  path: PathName;
  fault: string;
  /** survived: exit 0 and the target byte-identical; refused: the right non-zero exit and no tag; failed: neither. */
  result: 'survived' | 'refused' | 'failed';
}

const FIGURES_DIR = join(process.cwd(), '.tmp', 'interop-figures');

/** Writes this file's outcomes, then the sum over every matrix file so far to .tmp/interop-figures.json. */
export function writeFigures(part: string, outcomes: Outcome[]): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(join(FIGURES_DIR, `${part}.json`), JSON.stringify(outcomes));
  const all = readdirSync(FIGURES_DIR).flatMap((f) => JSON.parse(readFileSync(join(FIGURES_DIR, f), 'utf8')) as Outcome[]);
  const count = (pred: (o: Outcome) => boolean) => all.filter(pred).length;
  const figures = {
    profiles: new Set(all.map((o) => o.profile)).size,
    paths: new Set(all.map((o) => o.path)).size,
    faultPoints: new Set(all.map((o) => `${o.path} ${o.fault}`)).size,
    cases: all.length,
    survived: count((o) => o.result === 'survived'),
    refusedCleanly: count((o) => o.result === 'refused'),
    failed: count((o) => o.result === 'failed'),
    failing: all.filter((o) => o.result === 'failed').map((o) => `${o.profile} ${o.side} ${o.path} ${o.fault}`),
  };
  writeFileSync(join(process.cwd(), '.tmp', 'interop-figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
}

// --- the CLI suite ------------------------------------------------------------------------------

/** Paths a profile takes on a side: a same-registry mount needs one that is both source and target. */
export function pathsFor(side: Side, profile: Profile): PathName[] {
  if (side === 'source') return SOURCE_PATHS;
  return TARGET_PATHS.filter((p) => p !== 'mount-then-upload' || profile.source);
}

/**
 * One describe per profile, one test per path × fault point (and each path without a fault): the
 * import CLI against the personality on `side`, Distribution with its own credentials on the other.
 */
export function cliMatrix(side: Side): void {
  const outcomes: Outcome[] = [];
  let ps: Record<string, Personality> = {};
  beforeAll(async () => {
    ps = await startPersonalities(profilesFor(side));
    return () => Promise.all(Object.values(ps).map((p) => p.stop())).then(() => undefined);
  });
  afterAll(() => writeFigures(`cli-${side}`, outcomes));

  for (const profile of profilesFor(side)) {
    describe.concurrent(`${profile} as ${side}`, () => {
      for (const path of pathsFor(side, PROFILES[profile])) {
        for (const fault of [undefined, ...faultPoints(side, path, PROFILES[profile])]) {
          it(`${path}, ${fault?.name ?? 'no fault'}`, async () => {
            const outcome: Outcome = { profile, side, path, fault: fault?.name ?? 'none', result: 'failed' };
            try {
              outcome.result = await runCliCase(ps, profile, side, path, fault);
            } finally {
              outcomes.push(outcome);
            }
          });
        }
      }
    });
  }
}

async function pushFixture(path: PathName): Promise<{ repo: string; image: PushResult }> {
  const repo = uniqueRepo(`${path}/src`);
  return { repo, image: await pushImage(open, repo, 'v1', PATHS[path].fixture) };
}
const shared = new Map<PathName, Promise<{ repo: string; image: PushResult }>>();
function sharedFixture(path: PathName): Promise<{ repo: string; image: PushResult }> {
  let f = shared.get(path);
  if (!f) shared.set(path, (f = pushFixture(path)));
  return f;
}

async function runCliCase(ps: Record<string, Personality>, profile: ProfileName, side: Side, path: PathName, fault: FaultPoint | undefined): Promise<Outcome['result']> {
  const p = ps[profile]!;
  const other = ps[COUNTERPART]!;
  const [source, target] = side === 'source' ? [p, other] : path === 'mount-then-upload' ? [p, p] : [other, p];
  const dst = uniqueRepo(`${profile.replace(/\./g, "-")}/dst`);
  // Faults on a source are told apart by repository, so each source case has its own; target cases share one per path.
  const { repo: srcRepo, image } = side === 'source' || path === 'mount-then-upload' ? await pushFixture(path) : await sharedFixture(path);
  const ctx: CaseContext = { personality: p, repo: side === 'source' ? srcRepo : dst, image };
  const scripts = fault ? [p.script({ when: (r) => fault.when(r, ctx), answer: fault.answer })] : [];
  if (path === 'mount-then-upload' && !p.profile.behaviours.refuseMounts) {
    scripts.push(p.script({ when: (r) => r.kind === 'upload' && r.method === 'POST' && r.repo === dst && r.path.includes('mount='), answer: 'refuse-mount', times: 1000 }));
  }
  try {
    const r = await cli([
      '-n', target.host,
      '--source', `${source.host}/${srcRepo}:v1`,
      '-t', `${dst}:v1`,
      '-o', 'json',
      ...credentialArgs(source, 'source'),
      ...credentialArgs(target, 'target'),
      ...(PATHS[path].args ?? []),
    ]);
    const want = expectedExit(profile, side);
    expectExit(r, want);
    expectNoStack(r.stderr);
    if (fault) expect(scripts[0]!.used(), `fault point reached\n${describeHops(hopsOf(p, [srcRepo, dst]))}`).toBe(1);
    if (path === 'mount-then-upload') expect(hopsOf(p, [dst]).some((h) => h.kind === 'upload' && h.method === 'POST' && h.path.includes('mount=') && h.status === 202)).toBe(true);
    if (want === 0) await expectCopied(dst, image, path === 'foreign');
    // A target that rewrote a child manifest stops the import before the tag.
    else if (image.manifests.length > 1) await expectNotTagged(dst);
    expectCredentialsStayed(source === target ? [{ personality: p, repos: [srcRepo, dst] }] : [{ personality: source, repos: [srcRepo] }, { personality: target, repos: [dst] }]);
    return want === 0 ? 'survived' : 'refused';
  } finally {
    for (const s of scripts) s.remove();
  }
}
