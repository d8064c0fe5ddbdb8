/**
 * vitest globalSetup: starts the shared servers once per run (in the main
 * vitest process), provides their coordinates to tests via `inject()`, and
 * stops everything in teardown. Tests needing a private instance (a proxy in
 * front, their own token lifetime...) call the start* functions themselves.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ACR_NULL_GUID, startAcrOrigin } from './acr-origin.js';
import { startForeignLayerServer } from './foreign-layer-server.js';
import { TEST_PASSWORD, TEST_USERNAME, findRegistryBinary, startRegistry } from './registry.js';
import { startTokenRegistry } from './token-service.js';
import { RUN_TMPDIR_ENV } from './util.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  findRegistryBinary(); // fail fast with the install hint
  // Every harness temp dir of this run (also those of test workers) lives under
  // runDir; workers inherit the env var, and teardown removes runDir whole.
  const runDir = mkdtempSync(join(tmpdir(), 'acr-import-harness-run-'));
  const previousRunDir = process.env[RUN_TMPDIR_ENV];
  process.env[RUN_TMPDIR_ENV] = runDir;
  const entraToken = `harness-entra-${randomBytes(12).toString('hex')}`;
  const refreshToken = `harness-refresh-${randomBytes(12).toString('hex')}`;

  const started = await Promise.allSettled([
    startRegistry(),
    startRegistry({ auth: { kind: 'htpasswd' } }),
    startTokenRegistry(),
    startAcrOrigin({ acceptedAccessTokens: [entraToken], refreshTokens: [refreshToken] }),
    startRegistry({ tls: true }),
    startForeignLayerServer(),
  ] as const);
  const stops = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop] : []));
  const teardown = async () => {
    await Promise.allSettled(stops.map((stop) => stop()));
    rmSync(runDir, { recursive: true, force: true });
    if (previousRunDir === undefined) delete process.env[RUN_TMPDIR_ENV];
    else process.env[RUN_TMPDIR_ENV] = previousRunDir;
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await teardown();
    throw failed.reason;
  }
  const [open, htpasswd, token, acr, tls, foreign] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
    Awaited<ReturnType<typeof startRegistry>>,
    Awaited<ReturnType<typeof startRegistry>>,
    Awaited<ReturnType<typeof startTokenRegistry>>,
    Awaited<ReturnType<typeof startAcrOrigin>>,
    Awaited<ReturnType<typeof startRegistry>>,
    Awaited<ReturnType<typeof startForeignLayerServer>>,
  ];

  project.provide('openRegistry', { url: open.url, host: open.host });
  project.provide('htpasswdRegistry', { url: htpasswd.url, host: htpasswd.host, username: TEST_USERNAME, password: TEST_PASSWORD });
  project.provide('tokenRegistry', {
    url: token.url,
    host: token.host,
    username: TEST_USERNAME,
    password: TEST_PASSWORD,
    realm: token.realm,
    service: token.service,
    tokenServiceUrl: token.tokenService.url,
  });
  project.provide('acrOrigin', {
    url: acr.url,
    host: acr.host,
    username: TEST_USERNAME,
    password: TEST_PASSWORD,
    realm: acr.realm,
    service: acr.service,
    entraToken,
    refreshToken,
    nullGuid: ACR_NULL_GUID,
  });
  project.provide('tlsRegistry', { url: tls.url, host: tls.host, caPath: tls.caPath!, ca: tls.caPem! });
  project.provide('foreignLayerServer', { url: foreign.url, host: foreign.host });
  project.provide('harnessCaPath', tls.caPath!);
  return teardown;
}
