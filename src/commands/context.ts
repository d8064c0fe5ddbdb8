// What every command receives besides its own request: where to write, the environment, the
// signal that cancels it; and the connection settings every command shares, turned into the one
// Transport a command uses for all its requests (registries, token services, ARM).
import type { Console } from '../output/console.js';
import type { AzureCloud } from '../providers/azure/cloud.js';
import { Transport } from '../transport/http.js';
import { USER_AGENT } from '../version.js';

export interface CommandContext {
  console: Console;
  stdout: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  stdin?: NodeJS.ReadableStream;
}

/** The connection flags, parsed and checked (src/cli/requests.ts). */
export interface ConnectionRequest {
  /** `--cloud`, AZURE_CLOUD or the Azure CLI's: for bare registry names and Entra ID. */
  cloud: AzureCloud;
  /** `--insecure-registry`: reached over plain http. */
  insecureRegistries: string[];
  /** `--skip-tls-verify`: hosts already checked (never an Entra ID or ARM endpoint). */
  skipTlsVerify: string[];
  /** `--timeout` in milliseconds. */
  timeoutMs: number;
  /** `--retries`: 0 is one attempt per request. */
  retries: number;
  /** `--debug`: trace every request (redacted). */
  debug: boolean;
}

/** The one transport factory: every command's requests go through a Transport made here. */
export function createTransport(c: ConnectionRequest, ctx: Pick<CommandContext, 'console'>, options: { connectionsPerHost?: number } = {}): Transport {
  return new Transport({
    userAgent: USER_AGENT,
    insecureRegistries: c.insecureRegistries,
    skipTlsVerify: c.skipTlsVerify,
    timeoutMs: c.timeoutMs,
    retry: { maxAttempts: c.retries + 1 },
    ...(options.connectionsPerHost ? { connectionsPerHost: options.connectionsPerHost } : {}),
    debug: c.debug ? (line) => ctx.console.debug(line) : undefined,
  });
}
