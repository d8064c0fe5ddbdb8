// Azure commands besides import. Only commander is loaded here: each command's module (and the
// Azure SDKs under it) loads when the command runs, so `--help` stays fast.
import { Option, type Command } from 'commander';
import { AUTH_MODES } from '../auth/keychain.js';
import type { CommandContext } from '../commands/context.js';
import { addConnectionOptions, addOutputOptions, addRequestOptions } from './common-options.js';
import { showManifestsRequest } from './requests.js';

/** Sets up output for the command's flags (--quiet, --debug, --no-color), then runs the task. */
export type CommandRunner = (opts: Record<string, unknown>, task: (ctx: CommandContext) => Promise<void>) => Promise<void>;

export function registerAzureCommands(program: Command, run: CommandRunner): void {
  const cmd = program
    .command('show-manifests')
    .description('list the manifests of a repository, or of one image and its platforms: digest, platform, size, tags, created (like az acr repository show-manifests)')
    .argument('<registry>', 'an ACR name, a login server (myregistry.azurecr.io, 127.0.0.1:5000, ghcr.io) or an ACR resource ID')
    .argument('<repository>', 'repository, repository:tag or repository@sha256:…')
    .option('-u, --username <user>', 'registry user name (env ACR_IMPORT_SOURCE_USERNAME)')
    .option('-p, --password <password>', 'registry password or token; alone, for an ACR, an Entra ID access token (env ACR_IMPORT_SOURCE_PASSWORD)')
    .option('--password-stdin', 'read the password from standard input')
    .addOption(new Option('--auth-mode <mode>', 'sign-in: auto (Entra ID for ACR when no credentials are given), entra, docker (flags, environment, docker config), anonymous').choices(AUTH_MODES).default('auto'))
    .addOption(new Option('-o, --output <format>', 'output format: a text table, or json').choices(['text', 'json']).default('text'))
    .option('--subscription <id>', 'Azure subscription to look a bare registry name up in (env AZURE_SUBSCRIPTION_ID)');
  addOutputOptions(addRequestOptions(addConnectionOptions(cmd, 'Azure cloud for bare registry names'))).action(async (registry: string, repository: string, opts: Record<string, unknown>) =>
    run(opts, async (ctx) => {
      const { runShowManifests, parseRepositoryArg } = await import('../commands/show-manifests.js');
      await runShowManifests(showManifestsRequest(registry, parseRepositoryArg(repository), opts, ctx.env, ctx.console), ctx);
    }),
  );
}
