// The import command: flags → plan → (dry run) → execute → summary. Loaded lazily by main.ts so
// `--help` stays fast.
import { executePlan } from '../copy/execute.js';
import { planImport } from '../copy/plan.js';
import { chooseCloud } from '../providers/azure/cloud.js';
import { prepareLock, type ManifestLocker } from '../providers/azure/lock.js';
import type { AzureImportFlags } from '../providers/azure/options.js';
import { AzureSession } from '../providers/azure/session.js';
import { RegistryClient } from '../content/registry/client.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import { openFileSource, openFileTarget } from '../content/open.js';
import { RegistryStorage } from '../content/registry/storage.js';
import type { ReadOnlyStorage, Storage } from '../content/storage.js';
import { formatStorageSpec, parseStorageSpec } from '../content/transports.js';
import { header, Transport } from '../transport/http.js';
import type { Console } from '../output/console.js';
import { createProgress } from '../output/progress.js';
import { buildSummary, printSummary, type RateLimit } from '../output/summary.js';
import { importResultJson, jsonText, noteSide } from '../output/json-result.js';
import { USER_AGENT } from '../version.js';
import { environmentSecret, readStdinSecret } from '../auth/keychain.js';
import { skipTlsVerifyHosts } from '../cli/skip-tls-verify.js';
import { sourceFor, targetsFor } from '../cli/targets.js';
import { usageError } from '../errors.js';
import { parseSize } from '../cli/parse.js';

export interface ImportOptions extends AzureImportFlags {
  name: string;
  source: string;
  image: string[];
  repository: string[];
  registry?: string;
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  targetUsername?: string;
  targetPassword?: string;
  targetPasswordStdin?: boolean;
  force?: boolean;
  wait?: boolean;
  output: 'text' | 'json';
  dryRun?: boolean;
  concurrency: string;
  maxManifests: string;
  maxLayerSize?: string;
  includeForeignLayers?: boolean;
  allowForeignLayerHost?: string[];
  insecureRegistry: string[];
  skipTlsVerify: string[];
  cloud?: string;
  timeout: string;
  retries: string;
  debug?: boolean;
}

export interface RunContext {
  console: Console;
  stdout: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  stdin?: NodeJS.ReadableStream;
}

export async function runImport(o: ImportOptions, ctx: RunContext): Promise<void> {
  if (o.serverSide && o.skipTlsVerify?.length) throw usageError('--skip-tls-verify does not apply with --server-side: ACR reaches the registries itself.');
  if (o.serverSide) {
    const file = [parseStorageSpec(o.source, '--source'), parseStorageSpec(o.name, '--name')].find((s) => s.transport !== 'registry');
    if (file) throw usageError(`--server-side imports from registry to registry; ${formatStorageSpec(file)} is a file. Leave out --server-side.`);
    return (await import('./import-server-side.js')).runServerSideImport(o, ctx);
  }
  const started = Date.now();
  const c = ctx.console;
  const cloud = chooseCloud(o.cloud, ctx.env);
  const concurrency = positiveInt(o.concurrency, '--concurrency');
  const maxManifests = positiveInt(o.maxManifests, '--max-manifests');
  const maxLayerSize = o.maxLayerSize === undefined ? undefined : parseSize(o.maxLayerSize, '--max-layer-size');
  if (o.passwordStdin && o.targetPasswordStdin) throw usageError('Only one of --password-stdin and --target-password-stdin can read standard input.');
  if (o.passwordStdin && o.password) throw usageError('--password and --password-stdin are mutually exclusive.');
  if (o.targetPasswordStdin && o.targetPassword) throw usageError('--target-password and --target-password-stdin are mutually exclusive.');
  if (o.wait === false) c.warn('--no-wait only applies to imports run by the ACR service; this import runs here and waits.');

  const transport = new Transport({
    userAgent: USER_AGENT,
    insecureRegistries: o.insecureRegistry,
    skipTlsVerify: skipTlsVerifyHosts(o.skipTlsVerify ?? [], cloud, ctx.env, c),
    timeoutMs: positiveInt(o.timeout, '--timeout') * 1000,
    // --retries 0 is a valid choice: one attempt per request, no retry.
    retry: { maxAttempts: positiveInt(o.retries, '--retries', 0) + 1 },
    connectionsPerHost: Math.max(16, concurrency * 2),
    debug: o.debug ? (line) => c.debug(line) : undefined,
  });
  const rateLimit: RateLimit = {};
  transport.observe({
    onResponse(_req, res) {
      const remaining = header(res.headers, 'ratelimit-remaining');
      if (remaining) {
        rateLimit.remaining = remaining;
        rateLimit.limit = header(res.headers, 'ratelimit-limit');
      }
    },
  });
  // Registry names and resource IDs, Entra ID sign-in for ACR, --lock (src/providers/azure).
  const azure = new AzureSession({ transport, env: ctx.env, console: c, cloud, subscription: o.subscription, signal: ctx.signal });
  // Layouts and archives (skopeo's oci:, oci-archive:, docker-archive:) are opened here; only a
  // registry side has its name resolved and signs in.
  const sourceSpec = parseStorageSpec(o.source, '--source');
  const targetSpec = parseStorageSpec(o.name, '--name');
  let source: ReadOnlyStorage | undefined;
  let target: Storage | undefined;
  const hosts: { source?: string; target?: string } = {};
  try {
    let targetServer: string;
    if (targetSpec.transport === 'registry') targetServer = (await azure.resolveRegistry(o.name, '--name', { resourceGroup: o.resourceGroup })).loginServer;
    else {
      if (o.lock) throw usageError('--lock only works with registry targets.');
      target = await openFileTarget(targetSpec);
      targetServer = formatStorageSpec(targetSpec);
    }
    let sourceRef: ImageReference;
    let sourceText: string;
    let sourceReference: string;
    if (sourceSpec.transport === 'registry') {
      const { reference, warning } = sourceFor(sourceSpec.reference, o.registry ? (await azure.resolveRegistry(o.registry, '--registry')).loginServer : undefined);
      if (warning) c.warn(warning);
      sourceRef = reference;
      sourceText = formatReference(reference);
      sourceReference = reference.digest ?? reference.tag ?? 'latest';
    } else {
      if (o.registry) throw usageError(`--registry names the registry of a registry source; --source ${o.source} is not one.`);
      const opened = await openFileSource(sourceSpec);
      source = opened.storage;
      sourceText = formatStorageSpec(sourceSpec);
      sourceReference = opened.reference;
      sourceRef = { registry: sourceText, host: '', repository: opened.repository, tag: opened.tag, digest: opened.tag ? undefined : opened.reference };
      if (!opened.repository && !o.image.length && !o.repository.length) throw usageError(`${sourceText} names no repository to import into; give the target with -t REPO:TAG.`);
    }
    Object.assign(hosts, { source: sourceRef.registry, target: targetServer });
    // Only a registry side reads credentials from the environment.
    const registrySides = [...(source ? [] : [['source', sourceRef.registry] as const]), ...(target ? [] : [['target', targetServer] as const])];
    for (const [side, registry] of registrySides) {
      const ignored = environmentSecret(side, registry, ctx.env).ignored;
      if (ignored) c.warn(ignored);
    }
    const targets = targetsFor(o.image, o.repository, sourceRef);
    if (target && targets.some((t) => !t.tag)) throw usageError(`${targetServer} names images by tag; give -t NAME:TAG for it, not --repository.`);
    const stdinSecret = o.passwordStdin || o.targetPasswordStdin ? await readStdinSecret(ctx.stdin) : undefined;
    // Unless --lock needs to know now, the registries' first answers tell whether they are ACRs.
    // A layout or an archive needs no credentials.
    const credentialsFrom = { source: 'none (files)', target: 'none (files)' };
    if (!source) {
      const sourceCred = await azure.signIn('source', sourceRef.registry, sourceRef.host, { username: o.username, password: o.password, passwordStdin: o.passwordStdin }, o.sourceAuthMode, stdinSecret);
      credentialsFrom.source = sourceCred.from;
      source = new RegistryStorage(new RegistryClient(transport, sourceRef.registry, sourceRef.host, sourceCred.credential));
    }
    let lock: ManifestLocker | undefined;
    if (!target) {
      const targetCred = await azure.signIn('target', targetServer, targetServer, { username: o.targetUsername, password: o.targetPassword, passwordStdin: o.targetPasswordStdin }, o.targetAuthMode, stdinSecret);
      credentialsFrom.target = targetCred.from;
      lock = o.lock ? await prepareLock(azure, targetServer, targetCred) : undefined;
      target = new RegistryStorage(new RegistryClient(transport, targetServer, targetServer, targetCred.credential));
    }
    c.debug(`source credentials: ${credentialsFrom.source}; target credentials: ${credentialsFrom.target}`);
    c.info(`Importing ${sourceText} into ${targetServer}${o.dryRun ? ' (dry run)' : ''}`);

    const plan = await planImport(source, target, {
      sourceRepository: sourceRef.repository,
      sourceReference,
      targets,
      force: Boolean(o.force),
      maxManifests,
      maxLayerSize,
      includeForeignLayers: Boolean(o.includeForeignLayers),
      concurrency,
      signal: ctx.signal,
    });
    let stats;
    if (!o.dryRun) {
      const progress = await createProgress(c, plan.totalBytes);
      try {
        stats = await executePlan(source, target, plan, { sourceRepository: sourceRef.repository, concurrency, transport, foreignLayers: { allowHosts: o.allowForeignLayerHost }, signal: ctx.signal, onEvent: (e) => progress.onEvent(e) });
      } finally {
        progress.stop();
      }
    }
    const summary = buildSummary({
      source: sourceText,
      target: targetServer,
      plan,
      stats,
      dryRun: Boolean(o.dryRun),
      durationMs: Date.now() - started,
      rateLimit: rateLimit.remaining ? rateLimit : null,
    });
    printSummary(c, summary);
    const locked = lock ? await lock.afterImport(plan, targets, { dryRun: Boolean(o.dryRun), console: c, signal: ctx.signal }) : undefined;
    if (o.output === 'json') ctx.stdout.write(jsonText(importResultJson(summary, locked)));
  } catch (err) {
    noteSide(err, hosts);
    throw err;
  } finally {
    await Promise.all([source?.close?.(), target?.close?.()]).catch(() => undefined);
    await transport.close().catch(() => undefined);
  }
}

function positiveInt(value: string, flag: string, min = 1): number {
  const n = Number(value);
  if (!value.trim() || !Number.isInteger(n) || n < min) throw usageError(`${flag} must be a whole number of at least ${min}, not '${value}'.`);
  return n;
}
