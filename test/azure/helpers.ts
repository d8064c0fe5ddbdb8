// Plumbing for the Azure tests: the CLI in-process and in a child process, a test
// TokenCredential, fake Entra tokens, and a fake `az` executable for DefaultAzureCredential.
import { Capture } from '../import/helpers.js';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { AccessTokenLike, TokenCredentialLike } from '../../src/providers/azure/entra.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}


const emptyDir = () => mkdtempSync(join(tmpdir(), 'acr-import-azure-test-'));
const emptyDockerConfig = emptyDir();
const emptyAzureConfig = emptyDir();

/** An environment with no Azure, docker or acr-import settings of the machine. */
export function azureTestEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env)) {
    if (/^ACR_IMPORT_|^AZURE_(?!TOKEN_CREDENTIALS$)|^IDENTITY_|^MSI_|^DOCKER_CONFIG$|^CI$|^FORCE_COLOR$|^NODE_EXTRA_CA_CERTS$/.test(k)) delete env[k];
  }
  env.DOCKER_CONFIG = emptyDockerConfig;
  env.AZURE_CONFIG_DIR = emptyAzureConfig;
  return { ...env, ...extra };
}

/** `acr-import …args` in this process. */
export async function cli(args: string[], o: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const started = Date.now();
  const code = await main(['node', 'acr-import', ...args], {
    stdout,
    stderr,
    env: o.env ?? azureTestEnv(),
    stdin: o.stdin === undefined ? undefined : Readable.from([Buffer.from(o.stdin)]),
  });
  return { code, stdout: stdout.text, stderr: stderr.text, ms: Date.now() - started };
}

/** `acr-import …args` in a child process (TypeScript through tsx), for NODE_EXTRA_CA_CERTS and process-wide env. */
export function cliChild(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/azure/cli-entry.ts'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export function expectCode(r: CliResult, code: number): void {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`);
}

/** An unsigned JWT-shaped Entra token (the fakes never verify Entra signatures). */
export function fakeEntraJwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ typ: 'JWT', alg: 'RS256' })}.${b64({ aud: 'https://containerregistry.azure.net', iss: 'https://sts.windows.net/test/', ...claims })}.c2ln`;
}

/**
 * A TokenCredential for tests: mints a fresh fake Entra token per call (lifetime configurable),
 * hands each to `onToken` (to register it with a fake), and records the scopes asked for.
 */
export class TestCredential implements TokenCredentialLike {
  readonly calls: string[] = [];
  constructor(
    private readonly o: { lifetimeMs?: number; tenantId?: string; fixed?: string; onToken?: (token: string, scope: string) => void } = {},
  ) {}

  async getToken(scopes: string | string[]): Promise<AccessTokenLike> {
    const scope = Array.isArray(scopes) ? scopes[0]! : scopes;
    this.calls.push(scope);
    const expiresOnTimestamp = Date.now() + (this.o.lifetimeMs ?? 3600_000);
    const token =
      this.o.fixed ??
      fakeEntraJwt({ aud: scope.replace(/\/\.default$/, ''), tid: this.o.tenantId ?? 'tenant-test', oid: 'principal-test', scp: scope, n: this.calls.length, exp: Math.floor(expiresOnTimestamp / 1000) });
    this.o.onToken?.(token, scope);
    return { token, expiresOnTimestamp, tokenType: 'Bearer' };
  }
}

/**
 * A fake `az` that answers `az account get-access-token --output json --resource R` the way the
 * Azure CLI does, with $FAKE_AZ_TOKEN, and logs its arguments to $FAKE_AZ_LOG.
 */
export function writeFakeAz(): { dir: string; log: string; calls(): string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'acr-import-fake-az-'));
  const log = join(dir, 'calls.log');
  const script = `#!/bin/sh
echo "$*" >> "${log}"
if [ "$1" != "account" ] || [ "$2" != "get-access-token" ]; then
  echo "ERROR: unexpected az call: $*" >&2
  exit 2
fi
exp=$(( $(date +%s) + \${FAKE_AZ_LIFETIME:-3600} ))
expiresOn=$(date -d "@$exp" '+%Y-%m-%d %H:%M:%S.000000' 2>/dev/null || echo "2099-01-01 00:00:00.000000")
printf '{"accessToken":"%s","expiresOn":"%s","expires_on":%s,"subscription":"00000000-1111-2222-3333-444444444444","tenant":"%s","tokenType":"Bearer"}\\n' "$FAKE_AZ_TOKEN" "$expiresOn" "$exp" "\${FAKE_AZ_TENANT:-tenant-az}"
`;
  writeFileSync(join(dir, 'az'), script);
  chmodSync(join(dir, 'az'), 0o755);
  return { dir, log, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []) };
}

export function withPath(dir: string, env: NodeJS.ProcessEnv): string {
  return `${dir}${delimiter}${env.PATH ?? ''}`;
}
