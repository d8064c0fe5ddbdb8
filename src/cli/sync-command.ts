// `acr-import sync FILE`: mirror the images a file lists (src/commands/sync). Only commander is
// loaded here; the command's modules load when it runs.
import { Option, type Command } from 'commander';
import { AUTH_MODES } from '../auth/keychain.js';
import type { CommandRunner } from './azure-commands.js';
import { addConnectionOptions, addOutputOptions, addRequestOptions } from './common-options.js';
import { wholeNumberFlag } from './parse.js';
import { syncRequest } from './requests.js';

export function registerSyncCommand(program: Command, run: CommandRunner): void {
  const cmd = program
    .command('sync')
    .description('mirror the images a YAML or JSON file lists into registries, in one process (see README, "Mirror sets of images")')
    .argument('<file>', 'the sync file; - reads standard input')
    .option('--target <registry>', "the target of entries that name none, instead of the file's: an ACR name, a login server, a resource ID, or oci:DIR / oci-archive:FILE")
    .addOption(new Option('-o, --output <format>', 'output format: text on stderr, or one json object on stdout with a record per entry').choices(['text', 'json']).default('text'))
    .option('--dry-run', 'check the file, choose the tags and plan every image; write nothing')
    .option('--fail-fast', 'stop at the first failure (default: the other entries still run)')
    .option('--shard <i/n>', 'take only the entries of shard I of N (by a hash of source and target: stable when entries are added)')
    .option('--concurrency <n>', 'parallel blob transfers, across every image of the run (small blobs and checks: twice that)', wholeNumberFlag('--concurrency', 1), 8)
    .option('--parallel <n>', 'images planned or copied at once', wholeNumberFlag('--parallel', 1), 8)
    .option('--rate-limit-reserve <n>', 'pulls to leave unspent on registries that report a pull limit (Docker Hub)', wholeNumberFlag('--rate-limit-reserve', 0), 0)
    .option('--server-side', 'let ACR import each image itself (ARM importImage), --parallel at a time; signs in with Entra ID')
    .addOption(new Option('--source-auth-mode <mode>', 'source sign-in: auto, entra, docker (environment, docker config) or anonymous').choices(AUTH_MODES).default('auto'))
    .addOption(new Option('--target-auth-mode <mode>', 'target sign-in: auto, entra, docker or anonymous').choices(AUTH_MODES).default('auto'))
    .option('--subscription <id>', 'Azure subscription of the registries (env AZURE_SUBSCRIPTION_ID; default: the Azure CLI one)');
  addOutputOptions(addRequestOptions(addConnectionOptions(cmd, 'Azure cloud for bare registry names'))).action(async (file: string, opts: Record<string, unknown>) =>
    run(opts, async (ctx) => {
      const request = syncRequest(file, opts, ctx.env, ctx.console);
      await (await import('../commands/sync/command.js')).runSync(request, ctx);
    }),
  );
}
