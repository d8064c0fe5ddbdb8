// From az acr import's flags to what to copy where: the source reference and the target list,
// with az's defaults and messages. Pure functions, so every rule is unit-tested.
import { usageError } from '../errors.js';
import { parseReference, parseTargetImage, validateRepository, type ImageReference } from '../oci/reference.js';
import type { ImportTarget } from '../copy/plan.js';
import type { AzureCloud } from '../providers/azure/cloud.js';

export interface SourceSpec {
  reference: ImageReference;
  /** Said when the source was rewritten, like az's warning about a repeated login server. */
  warning?: string;
}

/**
 * `--source`, alone (fully qualified or a Docker Hub short name) or with `--registry` (then
 * only `repo[:tag|@digest]`, with a repeated login-server prefix stripped as az does).
 */
export function sourceFor(source: string, registryLoginServer: string | undefined): SourceSpec {
  if (!source.trim()) throw usageError('--source is empty.');
  if (!registryLoginServer) return { reference: parseReference(source) };
  let path = source;
  let warning: string | undefined;
  const prefix = `${registryLoginServer}/`;
  if (path.toLowerCase().startsWith(prefix)) {
    path = path.slice(prefix.length);
    warning = `The login server '${registryLoginServer}' is repeated in --source; with --registry, --source is taken as an image name in that registry: '${path}'.`;
  }
  const ref = parseReference(`${registryLoginServer}/${path}`);
  return { reference: ref, warning };
}

/**
 * `--source` in an ACR known only by its resource ID (az does not look it up, and neither do we):
 * the image path, with a repeated login server of that registry stripped as sourceFor does,
 * hashed (`name-<hash>.azurecr.io/`) or not. The reference's registry is the registry's name
 * with the cloud's suffix: for messages only.
 */
export function sourceInRegistryNamed(source: string, name: string, cloud: AzureCloud): SourceSpec {
  const first = source.trim().split('/')[0]!.toLowerCase();
  const suffix = cloud.loginServerSuffix;
  const repeated = first.endsWith(suffix) && new RegExp(`^${name.toLowerCase()}(-[a-z0-9]+)?$`).test(first.slice(0, -suffix.length));
  return sourceFor(source, repeated ? first : `${name.toLowerCase()}${suffix}`);
}

/**
 * The targets `-t repo[:tag]` and `--repository repo` name, checked, in order, each once (the same
 * target twice would only write twice). Parsed with the flags, before anything is read.
 */
export function explicitTargets(images: string[], repositories: string[]): ImportTarget[] {
  const targets: ImportTarget[] = [];
  for (const image of images) {
    if (image.includes('@')) throw usageError(`--image '${image}' has a digest; a target is repo[:tag] (the digest is the source's).`);
    targets.push(parseTargetImage(image));
  }
  for (const repo of repositories) {
    // As for --image: a registry host here would become part of the repository name in the target.
    const first = repo.includes('/') ? repo.slice(0, repo.indexOf('/')) : '';
    if (first.includes('.') || first.includes(':') || first.toLowerCase() === 'localhost') {
      const rest = repo.slice(first.length + 1);
      throw usageError(`--repository '${repo}' must not include a registry host ('${first}'); the target registry is given with --name.`, `Use --repository ${rest.replace(/[:@].*$/, '')}.`);
    }
    if (repo.includes(':') || repo.includes('@')) throw usageError(`--repository '${repo}' takes a repository name only, without tag or digest; use --image for a tagged copy.`);
    validateRepository(repo);
    targets.push({ repository: repo });
  }
  const seen = new Set<string>();
  return targets.filter((t) => {
    const key = `${t.repository}:${t.tag ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Targets as az decides them: the ones given (see explicitTargets); with none, the source path as
 * typed. az sends a digest source's repository alone as the target tag, which ACR tags with the
 * source's tag, or `latest` when there is none (ARM importImage's `targetTags`): so a digest source
 * with no `-t` lands as `repo:latest`.
 */
export function targetsFor(explicit: ImportTarget[], source: ImageReference): ImportTarget[] {
  return explicit.length ? explicit : [{ repository: source.repository, tag: source.tag ?? 'latest' }];
}
