// Flags every command shares, defined once so they read and behave the same everywhere.
import { Option, type Command } from 'commander';
import { wholeNumberFlag } from './parse.js';

export const CLOUD_NAMES = ['AzureCloud', 'AzureChinaCloud', 'AzureUSGovernment'];

/** A repeatable flag's values; no default, so help does not print "(default: [])". */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function addConnectionOptions(cmd: Command, cloudHelp: string): Command {
  return cmd
    .option('--insecure-registry <host>', 'reach this registry over plain http (repeatable; loopback always is)', collect)
    .option('--skip-tls-verify <host>', 'do not verify the TLS certificate of this registry (repeatable; never for Entra ID or ARM); a private CA is better trusted with NODE_EXTRA_CA_CERTS', collect)
    .addOption(new Option('--cloud <name>', cloudHelp).choices(CLOUD_NAMES).env('AZURE_CLOUD'));
}

export function addRequestOptions(cmd: Command): Command {
  return cmd
    .option('--timeout <seconds>', 'give up a request after this long without data', wholeNumberFlag('--timeout', 1), 60)
    // --retries 0 is a valid choice: one attempt per request, no retry.
    .option('--retries <n>', 'retries of a failed request (429, 5xx, dropped connection)', wholeNumberFlag('--retries', 0), 4);
}

export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--debug', 'trace every HTTP request (credentials redacted)')
    .option('-q, --quiet', 'print errors only: no progress, summary or warnings')
    .option('--no-color', 'no colours (also NO_COLOR, FORCE_COLOR=0, TERM=dumb)');
}
