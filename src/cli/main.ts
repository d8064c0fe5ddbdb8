// Entry point: the command line (commander), signals, and the single place where errors become
// messages and exit codes. Heavy modules load only when a command runs.
import { Command, CommanderError, Option } from 'commander';
import { AcrImportError, EXIT_CODES, exitCodeOf } from '../errors.js';
import { Console } from '../output/console.js';
import { errorJson, jsonText } from '../output/json-result.js';
import { redactLibraryLogs } from '../transport/library-logs.js';
import { registerAzureCommands, type CommandRunner } from './azure-commands.js';
import { registerCompletionCommand } from './completion.js';
import { registerLoginCommands } from './login.js';
import { registerSyncCommand } from './sync-command.js';
import { VERSION } from '../version.js';
import { addConnectionOptions, addOutputOptions, addRequestOptions, collect } from './common-options.js';
import { sizeFlag, wholeNumberFlag } from './parse.js';
import { allTagsRequest, importRequest, serverSideImportRequest } from './requests.js';
import { AUTH_MODES } from '../auth/keychain.js';

/** `import --help` examples, as az shows them. A test parses each one. */
export const IMPORT_EXAMPLES: [string, string][] = [
  ['Import an image from Docker Hub into an ACR (signs in to the ACR with Entra ID through the Azure CLI)', 'acr-import --name myregistry --source docker.io/library/hello-world:latest --image hello-world:latest'],
  ['Import from a private registry, the token read from standard input', 'printf \'%s\' "$GHCR_TOKEN" | acr-import --name myregistry --source ghcr.io/myorg/app:1.0 --username me --password-stdin'],
  ['Import by digest from another ACR named by its resource ID, untagged', 'acr-import --name myregistry --registry /subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/other --source app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef --repository app'],
  ['Into any OCI registry, moving an existing tag; the result as JSON for a pipeline', 'acr-import --name 127.0.0.1:5000 --source mcr.microsoft.com/dotnet/runtime:8.0 --image dotnet/runtime:8.0 --force --output json'],
  ['See what would be copied, writing nothing', 'acr-import --name myregistry --source docker.io/library/nginx:1.27 --dry-run'],
  ['Let ACR run the import itself, as az acr import does', 'acr-import --name myregistry --source docker.io/library/nginx:1.27 --server-side'],
];

/** Whether argv asks for json, for the error object of a failure before the flags are parsed. */
function wantsJson(argv: string[]): boolean {
  return argv.some((a, i) => a === '-ojson' || a === '--output=json' || ((a === '-o' || a === '--output') && argv[i + 1] === 'json'));
}

/**
 * A reader that went away (`acr-import --help | head -3`) is not an error: writes to a closed pipe
 * are dropped instead of ending the process with an EPIPE stack trace. Whatever was asked still
 * runs to its end, and the exit code is its own.
 */
const guarded = new WeakSet<NodeJS.WritableStream>();
function dropBrokenPipe(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}

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
    .option('-u, --username <user>', 'source registry user name (env ACR_IMPORT_SOURCE_USERNAME, for the registry in ACR_IMPORT_SOURCE_REGISTRY)')
    .option('-p, --password <password>', 'source registry password or token; alone, an access token (for an ACR, an Entra ID token to exchange) (env ACR_IMPORT_SOURCE_PASSWORD)')
    .option('--password-stdin', 'read the source password from standard input')
    .option('--target-username <user>', 'target registry user name (env ACR_IMPORT_TARGET_USERNAME; ACR_IMPORT_TARGET_REGISTRY limits it to one registry)')
    .option('--target-password <password>', 'target registry password or token (env ACR_IMPORT_TARGET_PASSWORD)')
    .option('--target-password-stdin', 'read the target password from standard input')
    .option('--force', 'move target tags that point at another image (default: refuse, writing nothing)')
    .option('--no-wait', 'with --server-side: return once ACR has queued the import (a client-side import always waits)')
    .addOption(new Option('-o, --output <format>', 'output format: text on stderr, or one json object on stdout').choices(['text', 'json']).default('text'))
    .option('--dry-run', 'resolve and check everything, print the plan, write nothing')
    .option('--concurrency <n>', 'parallel blob transfers (small blobs and checks: twice that)', wholeNumberFlag('--concurrency', 1), 8)
    .option('--max-manifests <n>', 'refuse images with more manifests (ACR import limit: 50, for every import)', wholeNumberFlag('--max-manifests', 1), 50)
    .option('--max-layer-size <size>', 'refuse layers larger than this, from any source (default: ACR import limit, 2GiB from public sources: well-known public registries and sources read anonymously)', sizeFlag('--max-layer-size'))
    .option('--include-foreign-layers', 'also copy foreign (non-distributable) layers from their URLs (https, public addresses only)')
    .option('--allow-foreign-layer-host <host>', 'fetch foreign layers from this host even over http or at a private address (repeatable)', collect)
    .option('--include-referrers', 'also copy what refers to the image and its platforms: signatures, SBOMs, attestations (OCI referrers and cosign tags), and what refers to those')
    .option('--referrers-artifact-type <type>', 'with --include-referrers: only referrers of this artifact type, such as application/vnd.cncf.notary.signature (repeatable)', collect)
    .option('--platform <os/arch[/variant]>', 'import only these platforms of an index (repeatable or comma-separated): one is imported as its manifest alone, several as a new index of them', collect)
    .option('--all-tags', 'import every tag of --source (a repository) into the repository -t names, or its own path: a sync of one entry (see acr-import sync --help)');
  addConnectionOptions(importCommand, 'Azure cloud for bare registry names');
  importCommand
    .option('--server-side', 'let ACR run the import itself (ARM importImage, as az acr import does); signs in with Entra ID')
    .option('-g, --resource-group <group>', 'resource group of the target registry (--server-side; found in the subscription when omitted)')
    .option('--subscription <id>', 'Azure subscription of the registries (env AZURE_SUBSCRIPTION_ID; default: the Azure CLI one)')
    .addOption(new Option('--source-auth-mode <mode>', 'source sign-in: auto (Entra ID for an ACR without other credentials), entra, docker (flags, environment, docker config), anonymous').choices(AUTH_MODES).default('auto'))
    .addOption(new Option('--target-auth-mode <mode>', 'target sign-in: auto, entra, docker or anonymous, as for the source').choices(AUTH_MODES).default('auto'))
    .option('--lock', 'lock the imported manifests afterwards (canWrite and canDelete false; ACR targets with Entra ID sign-in)');
  addOutputOptions(addRequestOptions(importCommand)).action(async (opts: Record<string, unknown>) => run(opts));
  importCommand.addHelpText('after', `\nExamples:\n${IMPORT_EXAMPLES.map(([what, cmd]) => `  ${what}:\n    ${cmd}\n`).join('\n')}`);
  program.addHelpText(
    'after',
    `\nimport is the default command: \`acr-import --name … --source …\` runs it. Its flags and more examples: acr-import import --help\n\nExample:\n  ${IMPORT_EXAMPLES[0]![1]}`,
  );

  return program;
}

/** Runs the CLI; resolves to the exit code (the launcher sets process.exitCode). */
export async function main(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream & { isTTY?: boolean }; env?: NodeJS.ProcessEnv; stdin?: NodeJS.ReadableStream } = {}): Promise<number> {
  const env = io.env ?? process.env;
  redactLibraryLogs(process.env);
  const stderr = io.stderr ?? process.stderr;
  const stdout = io.stdout ?? process.stdout;
  dropBrokenPipe(stdout);
  dropBrokenPipe(stderr);
  let console = new Console({ stream: stderr, env });
  let json = wantsJson(argv);
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) process.exit(sig === 'SIGTERM' ? EXIT_CODES.interrupted + 13 : EXIT_CODES.interrupted);
    signalled = sig;
    // Only a person at a terminal presses Ctrl-C twice; a service manager's SIGTERM gets no advice.
    console.info(sig === 'SIGINT' ? `\n${sig} received: cancelling uploads and stopping (press again to quit at once).` : `${sig} received: cancelling uploads and stopping.`);
    controller.abort(new AcrImportError('interrupted', `Interrupted by ${sig}. No tag was written for an incomplete image; run the same command again to finish.`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const setUp = (opts: Record<string, unknown>) => {
    console = new Console({ stream: stderr, env, quiet: Boolean(opts.quiet), debug: Boolean(opts.debug), color: opts.color !== false });
    json = opts.output === 'json';
    // What a bug report needs first: which build, on which Node, with which Node flags.
    const flags = process.execArgv.length ? ` (${process.execArgv.join(' ')})` : '';
    console.debug(`acr-import ${VERSION} on Node ${process.version}${flags}, ${process.platform}/${process.arch}`);
  };
  const program = buildProgram(async (opts) => {
    setUp(opts);
    const ctx = { console, stdout, env, signal: controller.signal, stdin: io.stdin };
    // --server-side, the copy made here and --all-tags (a sync of one entry) are three commands behind one set of flags.
    if (opts.allTags) {
      await (await import('../commands/sync/command.js')).runSync(allTagsRequest(opts, env, console), ctx);
    } else if (opts.serverSide) {
      const request = serverSideImportRequest(opts, env, console);
      await (await import('../commands/import-server-side.js')).runServerSideImport(request, ctx);
    } else {
      const request = importRequest(opts, env, console);
      await (await import('../commands/import.js')).runImport(request, ctx);
    }
  }, { stdout, stderr });
  const runCommand: CommandRunner = async (opts, task) => {
    setUp(opts);
    await task({ console, stdout, env, signal: controller.signal, stdin: io.stdin });
  };
  registerAzureCommands(program, runCommand);
  registerSyncCommand(program, runCommand);
  registerLoginCommands(program, runCommand);
  registerCompletionCommand(program, stdout);
  // On a failure, -o json prints one error object on stdout; people's words stay on stderr.
  const fail = (err: unknown, code: number): number => {
    console.error(err);
    // A command that printed its own result object (sync) says so: one object on stdout, not two.
    const reported = typeof err === 'object' && err !== null && 'reported' in err;
    if (json && !reported) stdout.write(jsonText(errorJson(err, code)));
    return code;
  };
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, successfully; commander has printed its message.
      if (err.exitCode === 0) return 0;
      if (json) stdout.write(jsonText(errorJson(new AcrImportError('usage', err.message.replace(/^error: /, '')), EXIT_CODES.usage)));
      return EXIT_CODES.usage;
    }
    if (signalled || (err as Error)?.name === 'AbortError') {
      return fail(controller.signal.reason ?? err, signalled === 'SIGTERM' ? 143 : EXIT_CODES.interrupted);
    }
    return fail(err, exitCodeOf(err));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
