// Azure commands besides import. Only commander is loaded here: each command's module (and the
// Azure SDKs under it) loads when the command runs, so `--help` stays fast.
import { Option, type Command } from 'commander';
import type { Console } from '../output/console.js';

export interface CommandContext {
  console: Console;
  stdout: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  stdin?: NodeJS.ReadableStream;
}

/** Sets up output for the command's flags (--quiet, --debug, --no-color), then runs the task. */
export type CommandRunner = (opts: Record<string, unknown>, task: (ctx: CommandContext) => Promise<void>) => Promise<void>;

const AUTH_MODES = ['auto', 'entra', 'docker', 'anonymous'];
const CLOUDS = ['AzureCloud', 'AzureChinaCloud', 'AzureUSGovernment'];

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerAzureCommands(program: Command, run: CommandRunner): void {
  program
    .command('show-manifests')
    .description('list the manifests of a repository, or of one image and its platforms: digest, platform, size, tags, created (like az acr repository show-manifests)')
    .argument('<registry>', 'an ACR name, a login server (myregistry.azurecr.io, 127.0.0.1:5000, ghcr.io) or an ACR resource ID')
    .argument('<repository>', 'repository, repository:tag or repository@sha256:…')
    .option('-u, --username <user>', 'registry user name (env ACR_IMPORT_SOURCE_USERNAME)')
    .option('-p, --password <password>', 'registry password or token; alone, for an ACR, an Entra ID access token (env ACR_IMPORT_SOURCE_PASSWORD)')
    .option('--password-stdin', 'read the password from standard input')
    .addOption(new Option('--auth-mode <mode>', 'sign-in: auto (Entra ID for ACR when no credentials are given), entra, docker (flags, environment, docker config), anonymous').choices(AUTH_MODES).default('auto'))
    .addOption(new Option('-o, --output <format>', 'output format: a text table, or json').choices(['text', 'json']).default('text'))
    .addOption(new Option('--cloud <name>', 'Azure cloud for bare registry names').choices(CLOUDS).env('AZURE_CLOUD'))
    .option('--subscription <id>', 'Azure subscription to look a bare registry name up in (env AZURE_SUBSCRIPTION_ID)')
    .option('--insecure-registry <host>', 'reach this registry over plain http (repeatable; loopback always is)', collect, [])
    .option('--timeout <seconds>', 'give up a request after this long without data', '60')
    .option('--retries <n>', 'retries of a failed request (429, 5xx, dropped connection)', '4')
    .option('--debug', 'trace every HTTP request (credentials redacted)')
    .option('-q, --quiet', 'print errors only')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .action(async (registry: string, repository: string, opts: Record<string, unknown>) =>
      run(opts, async (ctx) => {
        const { runShowManifests } = await import('../azure/show-manifests.js');
        await runShowManifests(registry, repository, opts, ctx);
      }),
    );
}
