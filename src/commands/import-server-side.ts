// The server-side engine (`--server-side`): hands the import to ACR itself, exactly as
// `az acr import` does, through ARM `registries/{name}/importImage`, then follows the
// long-running operation to its end (or returns once it is queued, with --no-wait).
import { setTimeout as sleep } from 'node:timers/promises';
import { AcrImportError, usageError } from '../errors.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import { header } from '../transport/http.js';
import { parseRetryAfter } from '../transport/retry.js';
import type { ImportTarget } from '../copy/plan.js';
import { explicitSecret, readStdinSecret, type SecretInput } from '../auth/keychain.js';
import { createTransport, type CommandContext, type ConnectionRequest } from './context.js';
import { sourceFor, sourceInRegistryNamed, targetsFor, type SourceSpec } from './targets.js';
import { REGISTRY_API_VERSION, armError, looksLikeResourceId, parseRegistryResourceId, registryResourceId, type ArmRegistry } from '../providers/azure/arm.js';
import { isAcrLoginServerIn } from '../providers/azure/cloud.js';
import { createAcrClient } from '../providers/azure/acr-client.js';
import { ManifestLocker, type LockedManifest } from '../providers/azure/lock.js';
import { AzureSession } from '../providers/azure/session.js';

/** Seconds between polls when ARM sends no Retry-After. */
export const POLL_INTERVAL_ENV = 'ACR_IMPORT_POLL_INTERVAL';

/** `import --server-side`, as src/cli/requests.ts makes it from the flags. */
export interface ServerSideImportRequest {
  /** `--source`: a registry reference, or with `registry` a path in that registry. */
  source: string;
  /** `--name`: the target ACR (name, login server or resource ID). */
  name: string;
  registry?: string;
  /** `-t` and `--repository`; none: the source path. */
  targets: ImportTarget[];
  sourceCredentials: SecretInput;
  force: boolean;
  /** False with --no-wait: return once ACR has queued the import. */
  wait: boolean;
  output: 'text' | 'json';
  dryRun: boolean;
  lock: boolean;
  resourceGroup?: string;
  subscription?: string;
  connection: ConnectionRequest;
}

export interface ImportImageBody {
  source: {
    resourceId?: string;
    registryUri?: string;
    credentials?: { username?: string; password: string };
    sourceImage: string;
  };
  targetTags?: string[];
  untaggedTargetRepositories?: string[];
  mode: 'Force' | 'NoForce';
}

export interface ServerSideResult {
  engine: 'server-side';
  source: string;
  target: string;
  registryId: string;
  targetTags: string[];
  untaggedTargetRepositories: string[];
  mode: 'Force' | 'NoForce';
  status: 'Succeeded' | 'Queued' | 'DryRun';
  /** The operation to poll, when ARM queued the import. */
  operation?: string;
  request?: { method: 'POST'; url: string; body: ImportImageBody };
  locked?: LockedManifest[];
  durationMs: number;
}

/** The request body with secrets replaced, for --dry-run and --debug. */
export function redactBody(body: ImportImageBody): ImportImageBody {
  const creds = body.source.credentials;
  return { ...body, source: { ...body.source, ...(creds ? { credentials: { ...(creds.username ? { username: creds.username } : {}), password: '***' } } : {}) } };
}

export async function runServerSideImport(o: ServerSideImportRequest, ctx: CommandContext): Promise<void> {
  const started = Date.now();
  const c = ctx.console;
  const cloud = o.connection.cloud;
  const transport = createTransport(o.connection, ctx);
  const session = new AzureSession({ transport, env: ctx.env, console: c, cloud, subscription: o.subscription, signal: ctx.signal });
  try {
    const stdinSecret = o.sourceCredentials.passwordStdin ? await readStdinSecret(ctx.stdin) : undefined;
    // As az decides it (acr/import.py): with --registry, a registry resource, read with the caller's
    // rights and never sent credentials; without it, a registryUri with the credentials given, or
    // without any, an ACR of the subscription by its resource ID when it is there.
    const inRegistry = o.registry ? await registrySource(session, o.source, o.registry) : undefined;
    const sourceRef = inRegistry?.reference ?? sourceFor(o.source, undefined).reference;
    const secret = explicitSecret('source', sourceRef.registry, o.sourceCredentials, ctx.env, stdinSecret);
    let credentials = secret.password ? { ...(secret.username ? { username: secret.username } : {}), password: secret.password } : undefined;
    if (inRegistry && credentials) {
      c.warn('The source credentials are not sent: with --registry, ACR reads the source registry by its resource ID, with the rights of the signed-in identity (as az acr import does).');
      credentials = undefined;
    }
    const resourceId = inRegistry ? inRegistry.resourceId : credentials || !isAcrLoginServerIn(cloud, sourceRef.registry) ? undefined : (await sourceInSubscription(session, sourceRef.registry))?.id;
    const sourceText = inRegistry?.text ?? formatReference(sourceRef);
    const sourceImage = imagePath(sourceRef);
    const targets = targetsFor(o.targets, sourceRef);
    const targetTags = targets.filter((t) => t.tag).map((t) => `${t.repository}:${t.tag}`);
    const untagged = targets.filter((t) => !t.tag).map((t) => t.repository);
    const body: ImportImageBody = {
      // Credentials go only with a registryUri: ACR reads a registry named by resourceId with the caller's rights.
      source: { ...(resourceId ? { resourceId } : { registryUri: sourceRef.registry, ...(credentials ? { credentials } : {}) }), sourceImage },
      ...(targetTags.length ? { targetTags } : {}),
      ...(untagged.length ? { untaggedTargetRepositories: untagged } : {}),
      mode: o.force ? 'Force' : 'NoForce',
    };

    const target = await findTargetRegistry(session, o.name, o.resourceGroup);
    const path = `${target.id}/importImage?api-version=${REGISTRY_API_VERSION}`;
    const url = `${session.armEndpoint}${path}`;
    const result: ServerSideResult = {
      engine: 'server-side',
      source: sourceText,
      target: target.loginServer,
      registryId: target.id,
      targetTags,
      untaggedTargetRepositories: untagged,
      mode: body.mode,
      status: 'DryRun',
      durationMs: 0,
    };

    if (o.dryRun) {
      result.request = { method: 'POST', url, body: redactBody(body) };
      result.durationMs = Date.now() - started;
      c.info(`Dry run: ACR would import ${sourceText} into ${target.loginServer} with this request (credentials redacted):`);
      if (o.output === 'json') ctx.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else ctx.stdout.write(`POST ${url}\n${JSON.stringify(result.request.body, null, 2)}\n`);
      return;
    }

    // Everything that can refuse --lock is checked before the import starts.
    let locker: ManifestLocker | undefined;
    if (o.lock) {
      const client = await createAcrClient(`https://${target.loginServer}`, session.entra.asTokenCredential(), cloud, '--lock');
      locker = new ManifestLocker(client, target.loginServer);
    }

    c.info(`Asking ACR to import ${sourceText} into ${target.loginServer} (${[...targetTags, ...untagged.map((r) => `${r} untagged`)].join(', ')})`);
    c.debug(`POST ${url}\n${JSON.stringify(redactBody(body))}`);
    let res = await session.arm.send('POST', path, body, { retry: false });
    // A throttled POST was not accepted: waiting and sending it again is safe.
    for (let attempt = 1; res.status === 429 && attempt <= 3; attempt++) {
      const wait = Math.min(parseRetryAfter(header(res.headers, 'retry-after')) ?? 2000 * attempt, 60_000);
      c.debug(`ARM throttled the import request; retrying in ${wait} ms`);
      await sleep(wait, undefined, { signal: ctx.signal });
      res = await session.arm.send('POST', path, body, { retry: false });
    }
    const what = `the import of ${sourceText} into ${target.loginServer}`;
    if (res.status === 202) {
      const operation = header(res.headers, 'azure-asyncoperation') ?? header(res.headers, 'location');
      result.operation = operation;
      if (!o.wait) {
        result.status = 'Queued';
        result.durationMs = Date.now() - started;
        c.success(`ACR queued ${what}; not waiting for it (--no-wait).`);
        if (operation) c.info(`  Operation: ${operation}`);
        if (o.output === 'json') ctx.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const seconds = Number(ctx.env[POLL_INTERVAL_ENV] ?? 5);
      let last = '';
      await session.arm.waitForOperation(res, what, {
        defaultIntervalMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 5000,
        onPoll: (status) => {
          if (status !== last) c.debug(`import operation: ${status}`);
          last = status;
        },
      });
    } else if (res.status !== 200 && res.status !== 201 && res.status !== 204) {
      throw armError(res, what);
    }
    result.status = 'Succeeded';

    if (locker) {
      const items = [
        ...targetTags.map((t) => ({ repository: t.slice(0, t.lastIndexOf(':')), reference: t.slice(t.lastIndexOf(':') + 1) })),
        ...(sourceRef.digest ? untagged.map((r) => ({ repository: r, reference: sourceRef.digest! })) : []),
      ];
      if (untagged.length && !sourceRef.digest) c.warn(`--lock: the untagged copies (${untagged.join(', ')}) are not locked: their digest is unknown here. Give the source by digest to lock them.`);
      result.locked = await locker.lock(items, ctx.signal, { withPlatforms: true });
      for (const l of result.locked) c.info(`  Locked ${target.loginServer}/${l.repository}@${l.digest} (canWrite, canDelete: false)`);
    }
    result.durationMs = Date.now() - started;
    c.success(`ACR imported ${sourceText} into ${target.loginServer} (${[...targetTags, ...untagged.map((r) => `${r} untagged`)].join(', ')}) in ${(result.durationMs / 1000).toFixed(1)} s.`);
    if (o.output === 'json') ctx.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await transport.close().catch(() => undefined);
  }
}

interface RegistrySource {
  reference: ImageReference;
  /** The source registry's resource ID: ACR reads it as an Azure resource. */
  resourceId: string;
  /** The source, for messages. */
  text: string;
}

/**
 * `--source` in the registry `--registry` names, as az reads it: a resource ID is sent as given,
 * not looked up; a name or login server must be a registry of the subscription (else az's "can
 * not be found"), sent by its resource ID.
 */
async function registrySource(session: AzureSession, source: string, registry: string): Promise<RegistrySource> {
  const value = registry.trim();
  let spec: SourceSpec;
  let resourceId: string;
  let text: string;
  if (looksLikeResourceId(value)) {
    const id = parseRegistryResourceId(value);
    if (!id) throw usageError(`--registry '${registry}' is not a container registry resource ID.`, 'A resource ID reads /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>.');
    spec = sourceInRegistryNamed(source, id.name, session.cloud);
    resourceId = id.id;
    text = `${imagePath(spec.reference)} in ${id.id}`;
  } else {
    const sub = await requireSubscription(session, 'source');
    const hit = findRegistry(await session.registriesIn(sub.id), value, session.cloud.loginServerSuffix);
    if (!hit) {
      throw new AcrImportError('not-found', `The source container registry '${registry}' can not be found in subscription ${sub.id} (${sub.from}).`, {
        hint: 'Give --registry its resource ID (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>), or leave out --registry and give a fully qualified --source, with --username/--password if it needs them.',
      });
    }
    spec = sourceFor(source, loginServerOf(hit, session.cloud.loginServerSuffix));
    resourceId = hit.id;
    text = formatReference(spec.reference);
  }
  if (spec.warning) session.console.warn(spec.warning);
  return { reference: spec.reference, resourceId, text };
}

/** `--subscription`, AZURE_SUBSCRIPTION_ID or the Azure CLI's; the server-side engine needs one. */
async function requireSubscription(session: AzureSession, registry: 'source' | 'target'): Promise<{ id: string; from: string }> {
  const sub = await session.subscription();
  if (!sub) throw usageError(`--server-side needs the subscription of the ${registry} registry.`, 'Give --subscription, set AZURE_SUBSCRIPTION_ID, or choose one with `az account set`.');
  return sub;
}

/**
 * The registry of the subscription named by `value`: its name, its login server, or the plain
 * `name.azurecr.io` of a registry whose login server is hashed; optionally in one resource group.
 */
function findRegistry(registries: ArmRegistry[], value: string, suffix: string, resourceGroup?: string): ArmRegistry | undefined {
  const lower = value.toLowerCase();
  const plainName = lower.endsWith(suffix) ? lower.slice(0, -suffix.length) : lower;
  return registries.find((r) => {
    const matches = r.properties?.loginServer?.toLowerCase() === lower || r.name?.toLowerCase() === plainName;
    return matches && (!resourceGroup || r.id.toLowerCase().includes(`/resourcegroups/${resourceGroup.toLowerCase()}/`));
  });
}

function loginServerOf(r: ArmRegistry, suffix: string): string {
  return r.properties?.loginServer?.toLowerCase() ?? `${r.name.toLowerCase()}${suffix}`;
}

/** An ACR source (given without --registry) in the subscription; not found or not readable, it goes as a registryUri, as in az. */
async function sourceInSubscription(session: AzureSession, loginServer: string): Promise<ArmRegistry | undefined> {
  const sub = await session.subscription();
  if (!sub) return undefined;
  try {
    const hit = findRegistry(await session.registriesIn(sub.id), loginServer, session.cloud.loginServerSuffix);
    if (hit) session.console.debug(`source registry ${loginServer} is ${hit.id}`);
    return hit;
  } catch (err) {
    session.console.debug(`could not look the source registry ${loginServer} up in ${sub.id}: ${(err as Error).message}`);
    return undefined;
  }
}

/** `repo:tag` or `repo@digest`, as importImage's sourceImage. */
function imagePath(ref: ImageReference): string {
  return `${ref.repository}${ref.digest ? `@${ref.digest}` : `:${ref.tag ?? 'latest'}`}`;
}

/**
 * The target registry's resource ID and login server: from a resource ID; from a name and `-g`
 * (the registry is read, since its login server may be hashed); or, like az, by finding the
 * name in the subscription's registry list, whose `id` gives the resource group.
 */
async function findTargetRegistry(session: AzureSession, name: string, resourceGroup: string | undefined): Promise<{ id: string; loginServer: string; resource?: ArmRegistry }> {
  const value = name.trim();
  if (looksLikeResourceId(value)) {
    const id = parseRegistryResourceId(value);
    if (!id) throw usageError(`--name '${name}' is not a container registry resource ID.`);
    const resolved = await session.resolveRegistry(value, '--name');
    return { id: id.id, loginServer: resolved.loginServer, resource: resolved.resource };
  }
  const suffix = session.cloud.loginServerSuffix;
  const lower = value.toLowerCase();
  const isLoginServer = /[.:]/.test(lower);
  // `myacr` or `myacr.azurecr.io` name the registry `myacr`; a hashed login server (domain-name-label scope) needs the list.
  const plainName = !isLoginServer ? lower : lower.endsWith(suffix) && /^[a-z0-9]{5,50}$/.test(lower.slice(0, -suffix.length)) ? lower.slice(0, -suffix.length) : undefined;
  if (!isLoginServer && !/^[a-z0-9]{5,50}$/.test(lower)) throw usageError(`'${name}' is not a valid registry name: ACR registry names have 5 to 50 letters and digits.`);
  const sub = await requireSubscription(session, 'target');
  if (resourceGroup && plainName) {
    const id = registryResourceId(sub.id, resourceGroup, plainName);
    const resource = await session.arm.getRegistry(id);
    return { id: resource.id || id, loginServer: loginServerOf(resource, suffix), resource };
  }
  const hit = findRegistry(await session.registriesIn(sub.id), value, suffix, resourceGroup);
  if (!hit) {
    throw new AcrImportError('not-found', `There is no registry '${name}' in subscription ${sub.id}${resourceGroup ? ` and resource group ${resourceGroup}` : ''} (${sub.from}).`, {
      hint: 'Check the registry name, --subscription and -g/--resource-group, and that the identity can read the registry.',
    });
  }
  return { id: hit.id, loginServer: loginServerOf(hit, suffix), resource: hit };
}
