// vitest setupFiles: every test worker, and every Node process a test starts, runs under the
// network guard (network-guard.mjs); a test during which anything tried to leave loopback fails.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach } from 'vitest';
import { GUARD_LOG_ENV } from './network-guard.mjs';

const guard = pathToFileURL(join(import.meta.dirname, 'network-guard.mjs')).href;
// One log per worker, inherited by the processes its tests start.
const log = join(process.env.ACR_IMPORT_HARNESS_TMPDIR ?? tmpdir(), `network-guard-${process.pid}.log`);
writeFileSync(log, '');
process.env[GUARD_LOG_ENV] = log;
if (!(process.env.NODE_OPTIONS ?? '').includes(guard)) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${guard}`.trim();
// DefaultAzureCredential's chain is pinned to the Azure CLI leg (a fake `az` in the tests): its
// managed-identity leg would probe the instance metadata address, beyond loopback.
process.env.AZURE_TOKEN_CREDENTIALS = 'AzureCliCredential';

let offset = 0;
beforeEach(() => {
  offset = existsSync(log) ? statSync(log).size : 0;
});
afterEach(() => {
  const text = existsSync(log) ? readFileSync(log).subarray(offset).toString('utf8').trim() : '';
  if (text) throw new Error(`This test tried to reach beyond loopback (tests reach nothing but 127.0.0.1 and ::1):\n${text}`);
});
