// `acr-import show-manifests <registry> <repository[:tag|@digest]>`, like
// `az acr repository show-manifests`: digest, platform, size, tags and creation time of the
// manifests in a repository (or of one image and its platform manifests). On ACR with Entra ID
// sign-in it reads ACR's metadata API through @azure/container-registry; on any other registry
// it walks the manifests with the copy engine's registry client.
import pLimit from 'p-limit';
import { AcrImportError } from '../errors.js';
import { formatBytes } from '../copy/plan.js';
import { readStdinSecret, type AuthMode, type SecretInput } from '../auth/keychain.js';
import { RegistryClient } from '../content/registry/client.js';
import type { FetchedManifest } from '../content/storage.js';
import { formatPlatform, isIndexType, type Descriptor, type Platform } from '../oci/media-types.js';
import { validateDigest, validateRepository, validateTag } from '../oci/reference.js';
import { acrSdkError, createAcrClient } from '../providers/azure/acr-client.js';
import type { AzureCloud } from '../providers/azure/cloud.js';
import { AzureSession } from '../providers/azure/session.js';
import { createTransport, type CommandContext, type ConnectionRequest } from './context.js';

/** `show-manifests <registry> <repository>`, as src/cli/requests.ts makes it from the flags. */
export interface ShowManifestsRequest {
  /** An ACR name, a login server or an ACR resource ID. */
  registry: string;
  /** The repository, and a tag or digest when one was given. */
  repository: { repository: string; reference?: string };
  credentials: SecretInput;
  authMode: AuthMode;
  subscription?: string;
  output: 'text' | 'json';
  connection: ConnectionRequest;
}

export interface ManifestRow {
  digest: string;
  mediaType?: string;
  /** `os/architecture[/variant]`. */
  platform?: string;
  architecture?: string;
  os?: string;
  /** Bytes: the manifest, its config and layers (an index: its own bytes). */
  size?: number;
  tags: string[];
  createdTime?: string;
  lastUpdateTime?: string;
  /** For an index: the manifests it lists. */
  references?: { digest: string; platform?: string }[];
  /** The digest of the index this manifest was listed under. */
  parent?: string;
  canWrite?: boolean;
  canDelete?: boolean;
}

/** `repo`, `repo:tag` or `repo@sha256:…` → repository and (optional) reference. */
export function parseRepositoryArg(value: string): { repository: string; reference?: string } {
  const at = value.indexOf('@');
  if (at >= 0) {
    const repository = value.slice(0, at);
    const digest = value.slice(at + 1);
    validateRepository(repository);
    validateDigest(digest);
    return { repository, reference: digest };
  }
  const slash = value.lastIndexOf('/');
  const colon = value.indexOf(':', slash + 1);
  if (colon >= 0) {
    const repository = value.slice(0, colon);
    const tag = value.slice(colon + 1);
    validateRepository(repository);
    validateTag(tag);
    return { repository, reference: tag };
  }
  validateRepository(value);
  return { repository: value };
}

export async function runShowManifests(o: ShowManifestsRequest, ctx: CommandContext): Promise<ManifestRow[]> {
  const c = ctx.console;
  const { repository, reference } = o.repository;
  const registryArg = o.registry;
  const cloud = o.connection.cloud;
  const transport = createTransport(o.connection, ctx);
  const session = new AzureSession({ transport, env: ctx.env, console: c, cloud, subscription: o.subscription, signal: ctx.signal });
  let registryName = registryArg;
  try {
    const { loginServer } = await session.resolveRegistry(registryArg, '<registry>');
    registryName = loginServer;
    const stdinSecret = o.credentials.passwordStdin ? await readStdinSecret(ctx.stdin) : undefined;
    const signIn = await session.signIn('source', loginServer, loginServer, o.credentials, o.authMode, stdinSecret);
    c.debug(`credentials for ${loginServer}: ${signIn.from}`);
    const baseUrl = await session.baseUrl(loginServer);
    let rows: ManifestRow[];
    if (signIn.acr && signIn.tokenCredential && baseUrl.startsWith('https://')) {
      c.debug('reading manifests through ACR metadata API (@azure/container-registry)');
      rows = await viaAcrSdk(baseUrl, signIn.tokenCredential, cloud, loginServer, repository, reference, ctx.signal);
    } else {
      c.debug('reading manifests through the registry API');
      const client = new RegistryClient(transport, loginServer, loginServer, signIn.credential);
      rows = await viaRegistryApi(client, repository, reference, ctx.signal);
    }
    if (o.output === 'json') ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else ctx.stdout.write(formatTable(rows));
    return rows;
  } catch (err) {
    throw withMissingRepositoryHint(err, registryName, repository);
  } finally {
    await transport.close().catch(() => undefined);
  }
}

/** A bare 404 for the repository itself says what to check. */
function withMissingRepositoryHint(err: unknown, registry: string, repository: string): unknown {
  if (!(err instanceof AcrImportError) || err.kind !== 'not-found' || err.hint) return err;
  const hub = /(^|\.)docker\.io$/.test(registry) && !repository.includes('/');
  const hint = [
    `Check the repository name (it is case-sensitive)${hub ? `; Docker Hub's official images are under library/ (library/${repository})` : ''}.`,
    'List the repositories with `az acr repository list --name <registry>` or `skopeo list-tags docker://<registry>/<repository>`; a token limited to other repositories also sees a 404.',
  ].join(' ');
  return new AcrImportError('not-found', err.message, { hint, cause: err });
}

// --- ACR: @azure/container-registry -----------------------------------------------------------

type ManifestProps = import('@azure/container-registry').ArtifactManifestProperties;

function rowFromProps(p: ManifestProps, parent?: string, platformHint?: string): ManifestRow {
  const platform = p.operatingSystem || p.architecture ? [p.operatingSystem, p.architecture].filter(Boolean).join('/') : platformHint;
  return {
    digest: p.digest,
    ...(platform ? { platform } : {}),
    ...(p.architecture ? { architecture: p.architecture } : {}),
    ...(p.operatingSystem ? { os: p.operatingSystem } : {}),
    ...(p.sizeInBytes !== undefined ? { size: p.sizeInBytes } : {}),
    tags: p.tags ?? [],
    ...(p.createdOn ? { createdTime: new Date(p.createdOn).toISOString() } : {}),
    ...(p.lastUpdatedOn ? { lastUpdateTime: new Date(p.lastUpdatedOn).toISOString() } : {}),
    ...(p.relatedArtifacts?.length
      ? { references: p.relatedArtifacts.map((r) => ({ digest: r.digest, ...(r.operatingSystem || r.architecture ? { platform: [r.operatingSystem, r.architecture].filter(Boolean).join('/') } : {}) })) }
      : {}),
    ...(parent ? { parent } : {}),
    ...(p.canWrite !== undefined ? { canWrite: p.canWrite } : {}),
    ...(p.canDelete !== undefined ? { canDelete: p.canDelete } : {}),
  };
}

async function viaAcrSdk(
  baseUrl: string,
  credential: NonNullable<Awaited<ReturnType<AzureSession['signIn']>>['tokenCredential']>,
  cloud: AzureCloud,
  loginServer: string,
  repository: string,
  reference: string | undefined,
  signal: AbortSignal,
): Promise<ManifestRow[]> {
  const client = await createAcrClient(baseUrl, credential, cloud, 'show-manifests');
  const where = `${loginServer}/${repository}${reference ? `${reference.includes(':') ? '@' : ':'}${reference}` : ''}`;
  try {
    if (!reference) {
      const rows: ManifestRow[] = [];
      for await (const p of client.getRepository(repository).listManifestProperties({ abortSignal: signal })) rows.push(rowFromProps(p));
      return rows;
    }
    const root = await client.getArtifact(repository, reference).getManifestProperties({ abortSignal: signal });
    const rows = [rowFromProps(root)];
    const limit = pLimit(4);
    const children = await Promise.all(
      (root.relatedArtifacts ?? []).map((r) =>
        limit(async () => {
          const hint = r.operatingSystem || r.architecture ? [r.operatingSystem, r.architecture].filter(Boolean).join('/') : undefined;
          const p = await client.getArtifact(repository, r.digest).getManifestProperties({ abortSignal: signal });
          return rowFromProps(p, root.digest, hint);
        }),
      ),
    );
    return [...rows, ...children];
  } catch (err) {
    throw acrSdkError(err, `reading the manifests of ${where}`);
  }
}

// --- any registry: the manifest walk ----------------------------------------------------------

const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

async function viaRegistryApi(client: RegistryClient, repository: string, reference: string | undefined, signal: AbortSignal): Promise<ManifestRow[]> {
  const limit = pLimit(8);
  const tags = await client.listTags(repository, { signal }).catch((err: unknown) => {
    // A digest reference can be shown without the tag list (some registries refuse to list).
    if (reference?.includes(':') && err instanceof AcrImportError && err.kind !== 'network') return [] as string[];
    throw err;
  });
  const tagDigests = await Promise.all(tags.map((t) => limit(async () => ({ tag: t, head: await client.headManifest(repository, t, signal) }))));
  const tagsOf = new Map<string, string[]>();
  for (const { tag, head } of tagDigests) if (head) tagsOf.set(head.digest, [...(tagsOf.get(head.digest) ?? []), tag]);

  let roots: string[];
  if (reference) {
    const head = await client.headManifest(repository, reference, signal);
    if (!head) throw new AcrImportError('not-found', `${client.registry}/${repository}${reference.includes(':') ? '@' : ':'}${reference} was not found.`);
    roots = [head.digest];
  } else {
    roots = [...tagsOf.keys()];
    if (!roots.length) throw new AcrImportError('not-found', `${client.registry}/${repository} has no tagged manifests.`);
  }

  const rows: ManifestRow[] = [];
  const seen = new Set<string>();
  for (const digest of roots) {
    if (seen.has(digest)) continue;
    seen.add(digest);
    const m = await client.getManifest(repository, digest, signal);
    const root = await describe(client, repository, m, undefined, tagsOf.get(digest) ?? [], signal);
    rows.push(root.row);
    const children = await Promise.all(
      root.children.map((d) =>
        limit(async () => {
          const cm = await client.getManifest(repository, d.digest, signal);
          return (await describe(client, repository, cm, d.platform, tagsOf.get(d.digest) ?? [], signal, digest)).row;
        }),
      ),
    );
    for (const ch of children) {
      if (!seen.has(ch.digest) || ch.parent) rows.push(ch);
      seen.add(ch.digest);
    }
  }
  return rows;
}

async function describe(
  client: RegistryClient,
  repository: string,
  m: FetchedManifest,
  platformFromIndex: Platform | undefined,
  tags: string[],
  signal: AbortSignal,
  parent?: string,
): Promise<{ row: ManifestRow; children: Descriptor[] }> {
  const json = m.json as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[]; blobs?: Descriptor[]; annotations?: Record<string, string> };
  const row: ManifestRow = { digest: m.digest, mediaType: m.mediaType, tags: [...tags].sort(), ...(parent ? { parent } : {}) };
  let created = json.annotations?.['org.opencontainers.image.created'];
  let platform = platformFromIndex;
  let children: Descriptor[] = [];
  if (isIndexType(m.mediaType) || (Array.isArray(json.manifests) && !json.config)) {
    children = (json.manifests ?? []).filter((d) => d && typeof d.digest === 'string');
    row.size = m.size;
    row.references = children.map((d) => ({ digest: d.digest, ...(d.platform ? { platform: formatPlatform(d.platform) } : {}) }));
  } else {
    row.size = m.size + (json.config?.size ?? 0) + (json.layers ?? json.blobs ?? []).reduce((n, l) => n + (l.size ?? 0), 0);
    if (json.config && IMAGE_CONFIG_TYPES.has(json.config.mediaType) && json.config.size <= 1024 * 1024) {
      try {
        const cfg = JSON.parse((await readAll(client.getBlob(repository, json.config, { signal }))).toString('utf8')) as { os?: string; architecture?: string; variant?: string; created?: string; 'os.version'?: string };
        platform ??= cfg.os && cfg.architecture ? { os: cfg.os, architecture: cfg.architecture, ...(cfg.variant ? { variant: cfg.variant } : {}), ...(cfg['os.version'] ? { 'os.version': cfg['os.version'] } : {}) } : undefined;
        created ??= cfg.created;
      } catch (err) {
        if (err instanceof AcrImportError && err.kind === 'interrupted') throw err;
        // the config is only for the platform and the date
      }
    }
  }
  if (platform) {
    row.platform = formatPlatform(platform);
    row.architecture = platform.architecture;
    row.os = platform.os;
  }
  if (created && !Number.isNaN(Date.parse(created))) row.createdTime = new Date(created).toISOString();
  return { row, children };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

// --- output -----------------------------------------------------------------------------------

export function formatTable(rows: ManifestRow[]): string {
  const head = ['DIGEST', 'PLATFORM', 'SIZE', 'TAGS', 'CREATED'];
  const lines = rows.map((r) => [
    `${r.parent ? '  ' : ''}${r.digest}`,
    r.platform ?? (r.references ? `index of ${r.references.length}` : '-'),
    r.size !== undefined ? formatBytes(r.size) : '-',
    r.tags.length ? r.tags.join(', ') : '-',
    r.createdTime ?? '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]) => cols.map((col, i) => (i === cols.length - 1 ? col : col.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[fmt(head), ...lines.map(fmt)].join('\n')}\n`;
}

