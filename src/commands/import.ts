// The import command: a typed request → plan → (dry run) → execute → summary. Loaded lazily by
// the cli so `--help` stays fast.
import { executePlan } from '../copy/execute.js';
import { connectionsPerHost, smallRequests } from '../copy/limits.js';
import { TargetProbes } from '../copy/probes.js';
import { planImport, type ImportTarget } from '../copy/plan.js';
import { prepareLock, type ManifestLocker } from '../providers/azure/lock.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import type { Platform } from '../oci/media-types.js';
import { openFileSource, openFileTarget } from '../content/open.js';
import type { ReadOnlyStorage, Storage } from '../content/storage.js';
import { formatStorageSpec, type StorageSpec } from '../content/transports.js';
import { header } from '../transport/http.js';
import { createProgress } from '../output/progress.js';
import { buildSummary, printSummary, type RateLimit } from '../output/summary.js';
import { importResultJson, jsonText, noteSide } from '../output/json-result.js';
import { environmentSecret, readStdinSecret, type AuthMode, type SecretInput } from '../auth/keychain.js';
import { createTransport, type CommandContext, type ConnectionRequest } from './context.js';
import { RegistryAccess } from './registry-access.js';
import { sourceFor, targetsFor, type RegistrySourceRequest } from './targets.js';
import { AcrImportError, usageError } from '../errors.js';
import type { Side } from '../side.js';

/** A client-side import, as src/cli/requests.ts makes it from the flags. */
export interface ImportRequest {
  /** `--source`: a registry reference, a path in the registry `--registry` names, or a file (oci:, oci-archive:, docker-archive:). */
  source: RegistrySourceRequest | Exclude<StorageSpec, { transport: 'registry' }>;
  /** `--name`: the target registry (a name ARM may resolve, so a string) or file. */
  target: StorageSpec;
  /** `-t` and `--repository`; none: the source path. */
  targets: ImportTarget[];
  sourceCredentials: SecretInput;
  targetCredentials: SecretInput;
  sourceAuthMode: AuthMode;
  targetAuthMode: AuthMode;
  force: boolean;
  output: 'text' | 'json';
  dryRun: boolean;
  concurrency: number;
  maxManifests: number;
  maxLayerSize?: number;
  includeForeignLayers: boolean;
  allowForeignLayerHosts: string[];
  /** `--platform`: the platforms of an index to import; none: all of it. */
  platforms: Platform[];
  /** `--include-referrers`, narrowed by `--referrers-artifact-type`. */
  includeReferrers: boolean;
  referrerArtifactTypes: string[];
  /** `-g`: the target registry's resource group, to read its login server from ARM. */
  resourceGroup?: string;
  subscription?: string;
  lock: boolean;
  connection: ConnectionRequest;
}

export async function runImport(o: ImportRequest, ctx: CommandContext): Promise<void> {
  const started = Date.now();
  const c = ctx.console;
  const transport = createTransport(o.connection, ctx, { connectionsPerHost: connectionsPerHost(o.concurrency) });
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
  // Registry names, sign-in, and the Azure provider only when a registry needs it (registry-access.ts).
  const registries = new RegistryAccess({ transport, env: ctx.env, console: c, cloud: o.connection.cloud, subscription: o.subscription, signal: ctx.signal });
  // Layouts and archives (skopeo's oci:, oci-archive:, docker-archive:) are opened here; only a
  // registry side has its name resolved and signs in.
  const sourceSpec = o.source;
  const targetSpec = o.target;
  let source: ReadOnlyStorage | undefined;
  let target: Storage | undefined;
  const hosts: { source?: string; target?: string } = {};
  try {
    let targetServer: string;
    if (targetSpec.transport === 'registry') targetServer = await registries.loginServer(targetSpec.reference, '--name', { resourceGroup: o.resourceGroup });
    else {
      target = await openFileTarget(targetSpec);
      targetServer = formatStorageSpec(targetSpec);
    }
    let sourceRef: ImageReference;
    let sourceText: string;
    let sourceReference: string;
    if (sourceSpec.transport === 'registry' || sourceSpec.transport === 'registry-path') {
      const { reference, warning } = sourceSpec.transport === 'registry' ? { reference: sourceSpec.reference, warning: undefined } : sourceFor(sourceSpec.path, await registries.loginServer(sourceSpec.registry, '--registry'));
      if (warning) c.warn(warning);
      sourceRef = reference;
      sourceText = formatReference(reference);
      sourceReference = reference.digest ?? reference.tag ?? 'latest';
    } else {
      const opened = await openFileSource(sourceSpec);
      source = opened.storage;
      sourceText = formatStorageSpec(sourceSpec);
      sourceReference = opened.reference;
      sourceRef = { registry: sourceText, host: '', repository: opened.repository, tag: opened.tag, digest: opened.tag ? undefined : opened.reference };
      if (!opened.repository && !o.targets.length) throw usageError(`${sourceText} names no repository to import into; give the target with -t REPO:TAG.`);
    }
    Object.assign(hosts, { source: sourceRef.registry, target: targetServer });
    // Only a registry side reads credentials from the environment.
    const registrySides = [...(source ? [] : [['source', sourceRef.registry] as const]), ...(target ? [] : [['target', targetServer] as const])];
    for (const [side, registry] of registrySides) {
      const ignored = environmentSecret(side, registry, ctx.env).ignored;
      if (ignored) c.warn(ignored);
    }
    const targets = targetsFor(o.targets, sourceRef);
    if (target && targets.some((t) => !t.tag)) throw usageError(`${targetServer} names images by tag; give -t NAME:TAG for it, not --repository.`);
    const stdinSecret = o.sourceCredentials.passwordStdin || o.targetCredentials.passwordStdin ? await readStdinSecret(ctx.stdin) : undefined;
    // Unless --lock needs to know now, the registries' first answers tell whether they are ACRs.
    // A layout or an archive needs no credentials.
    const credentialsFrom = { source: 'none (files)', target: 'none (files)' };
    if (!source) {
      const opened = await registries.open('source', sourceRef.registry, sourceRef.host, o.sourceCredentials, o.sourceAuthMode, stdinSecret);
      credentialsFrom.source = opened.signIn.from;
      source = opened.storage;
    }
    let lock: ManifestLocker | undefined;
    if (!target) {
      const opened = await registries.open('target', targetServer, targetServer, o.targetCredentials, o.targetAuthMode, stdinSecret, o.lock);
      credentialsFrom.target = opened.signIn.from;
      lock = o.lock ? await prepareLock(await registries.azure(), targetServer, opened.signIn, await registries.baseUrl(targetServer)) : undefined;
      target = opened.storage;
    }
    c.debug(`source credentials: ${credentialsFrom.source}; target credentials: ${credentialsFrom.target}`);
    c.info(`Importing ${sourceText} into ${targetServer}${o.dryRun ? ' (dry run)' : ''}`);

    const plan = await planImport(source, target, {
      sourceRepository: sourceRef.repository,
      sourceReference,
      targets,
      force: o.force,
      maxManifests: o.maxManifests,
      maxLayerSize: o.maxLayerSize,
      includeForeignLayers: o.includeForeignLayers,
      platforms: o.platforms,
      includeReferrers: o.includeReferrers,
      referrerArtifactTypes: o.referrerArtifactTypes,
      concurrency: o.concurrency,
      signal: ctx.signal,
      probes: o.dryRun ? undefined : new TargetProbes(target, smallRequests(o.concurrency), ctx.signal),
      // What planning leaves out says so (an attestation without its index, a referrer gone from the source).
      onEvent: (e) => {
        if (e.type === 'note') c.info(`note: ${e.message}`);
      },
    });
    let stats;
    if (!o.dryRun) {
      const progress = await createProgress(c, plan.totalBytes);
      try {
        stats = await executePlan(source, target, plan, { sourceRepository: sourceRef.repository, concurrency: o.concurrency, transport, foreignLayers: { allowHosts: o.allowForeignLayerHosts }, signal: ctx.signal, onEvent: (e) => progress.onEvent(e) });
      } finally {
        progress.stop();
      }
    }
    const summary = buildSummary({
      source: sourceText,
      target: targetServer,
      plan,
      stats,
      dryRun: o.dryRun,
      durationMs: Date.now() - started,
      rateLimit: rateLimit.remaining ? rateLimit : null,
      includeReferrers: o.includeReferrers,
    });
    printSummary(c, summary);
    const locked = lock ? await lock.afterImport(plan, targets, { dryRun: o.dryRun, console: c, signal: ctx.signal }) : undefined;
    if (o.output === 'json') ctx.stdout.write(jsonText(importResultJson(summary, locked)));
  } catch (err) {
    sayTheSide(err, noteSide(err, hosts), hosts);
    throw err;
  } finally {
    await Promise.all([source?.close?.(), target?.close?.()]).catch(() => undefined);
    await transport.close().catch(() => undefined);
  }
}

/**
 * The text message starts with the side that failed ("target 127.0.0.1:5000: pushing manifest
 * app@sha256:…: …"), as the json error's `side` says it; a message that names a side already keeps its words.
 */
function sayTheSide(err: unknown, side: Side | undefined, hosts: { source?: string; target?: string }): void {
  const host = side && hosts[side];
  if (!host || !(err instanceof AcrImportError)) return;
  if ([':', ' ', '/'].some((c) => err.message.startsWith(`${host}${c}`))) err.message = `${side} ${err.message}`;
  else if (!/\b(source|target)\b/i.test(err.message)) err.message = `${side} ${host}: ${err.message}`;
}
