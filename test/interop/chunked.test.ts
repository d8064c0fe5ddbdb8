// Chunked uploads against every personality that takes uploads. The CLI sends chunks only for
// blobs above 256 MiB and has no flag to lower that, so these cases drive the engine's own
// RegistryClient (the code the CLI runs) with small thresholds: a reset before the first byte
// (the registry then reports `Range: 0-0` for the empty session), before and after a later chunk,
// a 401 on a PATCH, a reset after the closing PUT.
import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/content/registry/client.js';
import { Transport } from '../../src/transport/http.js';
import { isRetryable } from '../../src/transport/retry.js';
import { PROFILES, blobSize, describeHops, uniqueRepo, type Personality, type ProfileName, type RequestInfo, type Scripted } from '../harness/index.js';
import { expectCredentialsStayed, hopsOf, open, profilesFor, startPersonalities, writeFigures, type Outcome } from './matrix.js';

interface ChunkFault {
  name: string;
  answer: Scripted;
  /** Which PATCH of the upload (1-based), or the closing PUT. */
  on: number | 'put';
}

const FAULTS: ChunkFault[] = [
  { name: 'first PATCH: reset-before (empty session, Range 0-0)', answer: 'reset-before', on: 1 },
  { name: 'second PATCH: reset-before', answer: 'reset-before', on: 2 },
  { name: 'second PATCH: reset-after', answer: 'reset-after', on: 2 },
  { name: 'first PATCH: unauthorized', answer: 'unauthorized', on: 1 },
  { name: 'closing PUT: reset-after', answer: 'reset-after', on: 'put' },
];

/** Profiles whose uploads differ from plain Distribution's, and the control. */
const profiles = profilesFor('target').filter((n) => !PROFILES[n].behaviours.rewriteManifestDigest);

const outcomes: Outcome[] = [];
let ps: Record<string, Personality> = {};
const transport = new Transport({ retry: { maxAttempts: 5 } });
beforeAll(async () => {
  ps = await startPersonalities(profiles);
  return () => Promise.all(Object.values(ps).map((p) => p.stop())).then(() => undefined);
});
afterAll(async () => {
  await transport.close();
  writeFigures('chunked', outcomes);
});

/** Three chunks at least: 256 KiB, or the registry's minimum when it has one. */
function sizes(name: ProfileName): { chunk: number; blob: number } {
  const min = PROFILES[name].behaviours.chunkMinLength ?? 0;
  const chunk = Math.max(256 * 1024, min);
  return { chunk: 256 * 1024, blob: 2 * chunk + Math.floor(chunk / 2) };
}

for (const name of profiles) {
  describe.concurrent(`${name} as target`, () => {
    // A 401 needs a registry that signs in, and uploads that go to it rather than to a store behind signed URLs.
    const signsUploads = PROFILES[name].door.kind !== 'anonymous' && !PROFILES[name].behaviours.signedUploadUrls;
    for (const fault of [undefined, ...FAULTS].filter((f) => f?.answer !== 'unauthorized' || signsUploads)) {
      it(`chunked, ${fault?.name ?? 'no fault'}`, async () => {
        const outcome: Outcome = { profile: name, side: 'target', path: 'chunked', fault: fault?.name ?? 'none', result: 'failed' };
        try {
          const p = ps[name]!;
          const repo = uniqueRepo(`${name}/chunked`);
          const { chunk, blob } = sizes(name);
          const bytes = randomBytes(blob);
          const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
          let patches = 0;
          const at = (r: RequestInfo) => {
            if (r.repo !== repo || r.kind !== 'upload') return false;
            if (r.method === 'PATCH') return ++patches === fault?.on;
            return fault?.on === 'put' && r.method === 'PUT';
          };
          const script = fault ? p.script({ when: at, answer: fault.answer }) : undefined;
          const credential = p.credentials ? { kind: 'basic' as const, ...p.credentials } : { kind: 'anonymous' as const };
          const client = new RegistryClient(transport, p.host, p.host, credential);
          const upload = () =>
            client.uploadBlob(repo, { digest, size: bytes.length }, (offset) => Readable.from([bytes.subarray(offset)]), {
              monolithicMax: 64 * 1024,
              chunkedAbove: 512 * 1024,
              // The registry's OCI-Chunk-Min-Length, where it sends one, must win over this.
              chunkSize: chunk,
            });
          // The copy around the client (copy/execute.ts) starts a blob over in a new session when the engine's
          // classifier says the failure is worth it (a lost session, a broken connection): so does this case.
          for (let attempt = 1; ; attempt++) {
            const failed = await upload().then(
              () => undefined,
              (err: unknown) => err,
            );
            if (!failed) break;
            if (attempt >= 5 || !isRetryable(failed)) throw failed;
          }
          const hops = hopsOf(p, [repo]);
          expect(hops.filter((h) => h.method === 'PATCH').length, describeHops(hops)).toBeGreaterThanOrEqual(3);
          if (script) expect(script.used(), describeHops(hops)).toBe(1);
          // The empty session: where the registry is asked, it answers 0-0, the same as for one byte.
          const status = hops.filter((h) => h.kind === 'upload' && h.method === 'GET' && h.status === 204);
          if (fault?.on === 1 && fault.answer === 'reset-before' && status.length) expect(status[0]!.responseHeaders.range).toBe('0-0');
          expect(await blobSize(open, repo, digest)).toBe(bytes.length);
          expectCredentialsStayed([{ personality: p, repos: [repo] }]);
          outcome.result = 'survived';
        } finally {
          outcomes.push(outcome);
        }
      });
    }
  });
}
