// commander's options → the typed, checked request each command takes. Every flag value was
// already parsed by its one parser (parse.ts, as commander read it); what is checked here is how
// flags go together. Commands never see a raw option object.
import { usageError } from '../errors.js';
import type { ConnectionRequest } from '../commands/context.js';
import type { ImportRequest } from '../commands/import.js';
import type { ServerSideImportRequest } from '../commands/import-server-side.js';
import type { ShowManifestsRequest } from '../commands/show-manifests.js';
import { explicitTargets } from '../commands/targets.js';
import { formatStorageSpec, parseStorageSpec } from '../content/transports.js';
import type { Console } from '../output/console.js';
import { chooseCloud } from '../providers/azure/cloud.js';
import type { AuthMode } from '../auth/keychain.js';
import { skipTlsVerifyHosts } from './skip-tls-verify.js';
import { parsePlatforms } from '../copy/platforms.js';

/** commander's options of a command, as its flags define them. */
export type Options = Record<string, unknown>;

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);
const output = (v: unknown): 'text' | 'json' => (v === 'json' ? 'json' : 'text');

/** `--cloud`, `--insecure-registry`, `--skip-tls-verify`, `--timeout`, `--retries`, `--debug`. */
export function connectionRequest(o: Options, env: NodeJS.ProcessEnv, console: Console): ConnectionRequest {
  const cloud = chooseCloud(text(o.cloud), env);
  return {
    cloud,
    insecureRegistries: list(o.insecureRegistry),
    skipTlsVerify: skipTlsVerifyHosts(list(o.skipTlsVerify), cloud, env, console),
    timeoutMs: (o.timeout as number) * 1000,
    retries: o.retries as number,
    debug: Boolean(o.debug),
  };
}

function credentials(username: unknown, password: unknown, passwordStdin: unknown, flags: { password: string; stdin: string }) {
  if (passwordStdin && password) throw usageError(`${flags.password} and ${flags.stdin} are mutually exclusive.`);
  return { username: text(username), password: text(password), passwordStdin: Boolean(passwordStdin) };
}

/** `import --server-side`: ACR runs the import; the flags for a copy made here are refused. */
export function serverSideImportRequest(o: Options, env: NodeJS.ProcessEnv, console: Console): ServerSideImportRequest {
  if (list(o.skipTlsVerify).length) throw usageError('--skip-tls-verify does not apply with --server-side: ACR reaches the registries itself.');
  const file = [parseStorageSpec(String(o.source), '--source'), parseStorageSpec(String(o.name), '--name')].find((s) => s.transport !== 'registry');
  if (file) throw usageError(`--server-side imports from registry to registry; ${formatStorageSpec(file)} is a file. Leave out --server-side.`);
  const ignored: [unknown, string][] = [
    [o.targetUsername || o.targetPassword || o.targetPasswordStdin, '--target-username/--target-password'],
    [o.includeForeignLayers, '--include-foreign-layers'],
    [list(o.insecureRegistry).length, '--insecure-registry'],
    [o.sourceAuthMode && o.sourceAuthMode !== 'auto', '--source-auth-mode'],
    [o.targetAuthMode && o.targetAuthMode !== 'auto', '--target-auth-mode'],
  ];
  if (list(o.platform).length || o.includeReferrers || list(o.referrersArtifactType).length) {
    throw usageError('--platform, --include-referrers and --referrers-artifact-type need the copy made here: ACR\'s import takes no such choice. Leave out --server-side.');
  }
  for (const [given, flag] of ignored) {
    if (given) throw usageError(`${flag} does not apply with --server-side: ACR runs the import and signs in to the registries itself.`);
  }
  if (o.lock && o.wait === false) throw usageError('--lock cannot be used with --no-wait: the import must have finished before its manifests can be locked.');
  if (o.passwordStdin && o.targetPasswordStdin) throw usageError('Only one of --password-stdin and --target-password-stdin can read standard input.');
  return {
    source: String(o.source),
    name: String(o.name),
    registry: text(o.registry),
    targets: explicitTargets(list(o.image), list(o.repository)),
    sourceCredentials: { username: text(o.username), password: text(o.password), passwordStdin: Boolean(o.passwordStdin) },
    force: Boolean(o.force),
    wait: o.wait !== false,
    output: output(o.output),
    dryRun: Boolean(o.dryRun),
    lock: Boolean(o.lock),
    resourceGroup: text(o.resourceGroup),
    subscription: text(o.subscription),
    connection: connectionRequest(o, env, console),
  };
}

/** `import`: the copy made here, from a registry or a file to a registry or a file. */
export function importRequest(o: Options, env: NodeJS.ProcessEnv, console: Console): ImportRequest {
  if (o.passwordStdin && o.targetPasswordStdin) throw usageError('Only one of --password-stdin and --target-password-stdin can read standard input.');
  const sourceCredentials = credentials(o.username, o.password, o.passwordStdin, { password: '--password', stdin: '--password-stdin' });
  const targetCredentials = credentials(o.targetUsername, o.targetPassword, o.targetPasswordStdin, { password: '--target-password', stdin: '--target-password-stdin' });
  if (o.wait === false) console.warn('--no-wait only applies to imports run by the ACR service; this import runs here and waits.');
  const source = parseStorageSpec(String(o.source), '--source');
  const target = parseStorageSpec(String(o.name), '--name');
  if (o.lock && target.transport !== 'registry') throw usageError('--lock only works with registry targets.');
  if (o.registry && source.transport !== 'registry') throw usageError(`--registry names the registry of a registry source; --source ${String(o.source)} is not one.`);
  const referrerArtifactTypes = list(o.referrersArtifactType);
  if (referrerArtifactTypes.length && !o.includeReferrers) throw usageError('--referrers-artifact-type narrows the referrers --include-referrers copies; give --include-referrers too.');
  return {
    source,
    target,
    registry: text(o.registry),
    targets: explicitTargets(list(o.image), list(o.repository)),
    sourceCredentials,
    targetCredentials,
    sourceAuthMode: (o.sourceAuthMode ?? 'auto') as AuthMode,
    targetAuthMode: (o.targetAuthMode ?? 'auto') as AuthMode,
    force: Boolean(o.force),
    output: output(o.output),
    dryRun: Boolean(o.dryRun),
    concurrency: o.concurrency as number,
    maxManifests: o.maxManifests as number,
    maxLayerSize: o.maxLayerSize as number | undefined,
    includeForeignLayers: Boolean(o.includeForeignLayers),
    allowForeignLayerHosts: list(o.allowForeignLayerHost),
    platforms: parsePlatforms(list(o.platform)),
    includeReferrers: Boolean(o.includeReferrers),
    referrerArtifactTypes,
    resourceGroup: text(o.resourceGroup),
    subscription: text(o.subscription),
    lock: Boolean(o.lock),
    connection: connectionRequest(o, env, console),
  };
}

/** `show-manifests <registry> <repository>`. */
export function showManifestsRequest(registry: string, repository: ShowManifestsRequest['repository'], o: Options, env: NodeJS.ProcessEnv, console: Console): ShowManifestsRequest {
  return {
    registry,
    repository,
    credentials: credentials(o.username, o.password, o.passwordStdin, { password: '--password', stdin: '--password-stdin' }),
    authMode: (o.authMode ?? 'auto') as AuthMode,
    subscription: text(o.subscription),
    output: output(o.output),
    connection: connectionRequest(o, env, console),
  };
}
