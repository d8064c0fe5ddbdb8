// Entry point: the command line (commander), signals, and the single place where errors become
// messages and exit codes. Heavy modules load only when a command runs.
import { Command, CommanderError, Option } from 'commander';
import { AcrImportError, EXIT_CODES, exitCodeOf } from '../errors.js';
import { Console } from '../output/console.js';
import { redactLibraryLogs } from '../transport/library-logs.js';
import { registerAzureCommands } from './azure-commands.js';
import { VERSION } from '../version.js';
import { addConnectionOptions, addOutputOptions, addRequestOptions, collect, withLists } from './common-options.js';


export function buildProgram(run: (opts: Record<string, unknown>) => Promise<void>, out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Command {
  const program = new Command('acr-import')
    // Set before the commands are added: subcommands copy these settings when created.
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.stdout.write(s), writeErr: (s) => out.stderr.write(s) })
    .description('Import container images and OCI artifacts into Azure Container Registry or any OCI registry.\nSpeaks the flags of `az acr import`, and does the copy itself.')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .configureHelp({ sortOptions: false });

  const importCommand = program
    .command('import', { isDefault: true })
    .description('copy an image, index or artifact into a registry (the default command)')
    .requiredOption('-n, --name <registry>', 'target registry: an ACR name (myregistry), a login server (myregistry.azurecr.io, 127.0.0.1:5000, ghcr.io), an ACR resource ID, or oci:DIR / oci-archive:FILE to export to an OCI layout or a tar of one')
    .requiredOption('--source <image>', 'source image: host/repo:tag, host/repo@sha256:…, a Docker Hub name (nginx, library/nginx:1.27), or oci:DIR[:NAME|@DIGEST], oci-archive:FILE[:NAME], docker-archive:FILE[:REF]')
    .option('-t, --image <repo[:tag]>', 'target repository and tag (repeatable); default: the source path', collect)
    .option('--repository <repo>', 'target repository for an untagged copy (repeatable)', collect)
    .option('-r, --registry <registry>', 'source registry (ACR name, login server or ACR resource ID); --source is then repo[:tag|@digest]')
    .option('-u, --username <user>', 'source registry user name (env ACR_IMPORT_SOURCE_USERNAME)')
    .option('-p, --password <password>', 'source registry password or token; alone, an access token (for an ACR, an Entra ID token to exchange) (env ACR_IMPORT_SOURCE_PASSWORD)')
    .option('--password-stdin', 'read the source password from standard input')
    .option('--target-username <user>', 'target registry user name (env ACR_IMPORT_TARGET_USERNAME)')
    .option('--target-password <password>', 'target registry password or token (env ACR_IMPORT_TARGET_PASSWORD)')
    .option('--target-password-stdin', 'read the target password from standard input')
    .option('--force', 'move target tags that point at another image (default: refuse, writing nothing)')
    .option('--no-wait', 'with --server-side: return once ACR has queued the import (a client-side import always waits)')
    .addOption(new Option('-o, --output <format>', 'output format: text on stderr, or one json object on stdout').choices(['text', 'json']).default('text'))
    .option('--dry-run', 'resolve and check everything, print the plan, write nothing')
    .option('--concurrency <n>', 'parallel blob transfers', '8')
    .option('--max-manifests <n>', 'refuse images with more manifests (ACR import limit: 50, for every import)', '50')
    .option('--max-layer-size <size>', 'refuse layers larger than this, from any source (default: ACR import limit, 2GiB from public sources: well-known public registries and sources read anonymously)')
    .option('--include-foreign-layers', 'also copy foreign (non-distributable) layers from their URLs (https, public addresses only)')
    .option('--allow-foreign-layer-host <host>', 'fetch foreign layers from this host even over http or at a private address (repeatable)', collect);
  addConnectionOptions(importCommand, 'Azure cloud for bare registry names');
  importCommand
    .option('--server-side', 'let ACR run the import itself (ARM importImage, as az acr import does); signs in with Entra ID')
    .option('-g, --resource-group <group>', 'resource group of the target registry (--server-side; found in the subscription when omitted)')
    .option('--subscription <id>', 'Azure subscription of the registries (env AZURE_SUBSCRIPTION_ID; default: the Azure CLI one)')
    .addOption(new Option('--source-auth-mode <mode>', 'source sign-in: auto (Entra ID for an ACR without other credentials), entra, docker (flags, environment, docker config), anonymous').choices(['auto', 'entra', 'docker', 'anonymous']).default('auto'))
    .addOption(new Option('--target-auth-mode <mode>', 'target sign-in: auto, entra, docker or anonymous, as for the source').choices(['auto', 'entra', 'docker', 'anonymous']).default('auto'))
    .option('--lock', 'lock the imported manifests afterwards (canWrite and canDelete false; ACR targets with Entra ID sign-in)');
  addOutputOptions(addRequestOptions(importCommand)).action(async (opts: Record<string, unknown>) => run(withLists(opts, ['image', 'repository', 'insecureRegistry'])));
  program.addHelpText(
    'after',
    '\nimport is the default command: `acr-import --name … --source …` runs it. Its flags: acr-import import --help\n\nExample:\n  acr-import --name myregistry --source docker.io/library/hello-world:latest --image hello-world:latest',
  );

  return program;
}

/** Runs the CLI; resolves to the exit code (the launcher sets process.exitCode). */
export async function main(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream & { isTTY?: boolean }; env?: NodeJS.ProcessEnv; stdin?: NodeJS.ReadableStream } = {}): Promise<number> {
  const env = io.env ?? process.env;
  redactLibraryLogs(process.env);
  const stderr = io.stderr ?? process.stderr;
  const stdout = io.stdout ?? process.stdout;
  let console = new Console({ stream: stderr });
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) process.exit(sig === 'SIGTERM' ? EXIT_CODES.interrupted + 13 : EXIT_CODES.interrupted);
    signalled = sig;
    console.info(`\n${sig} received: cancelling uploads and stopping (press again to quit at once).`);
    controller.abort(new AcrImportError('interrupted', `Interrupted by ${sig}. No tag was written for an incomplete image; run the same command again to finish.`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const program = buildProgram(async (opts) => {
    console = new Console({ stream: stderr, quiet: Boolean(opts.quiet), debug: Boolean(opts.debug), color: opts.color !== false });
    const { runImport } = await import('./run-import.js');
    await runImport(opts as never, { console, stdout, env, signal: controller.signal, stdin: io.stdin });
  }, { stdout, stderr });
  registerAzureCommands(program, async (opts, task) => {
    console = new Console({ stream: stderr, quiet: Boolean(opts.quiet), debug: Boolean(opts.debug), color: opts.color !== false });
    await task({ console, stdout, env, signal: controller.signal, stdin: io.stdin });
  });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, successfully.
      return err.exitCode === 0 ? 0 : EXIT_CODES.usage;
    }
    if (signalled || (err as Error)?.name === 'AbortError') {
      console.error(controller.signal.reason ?? err);
      return signalled === 'SIGTERM' ? 143 : EXIT_CODES.interrupted;
    }
    console.error(err);
    return exitCodeOf(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
