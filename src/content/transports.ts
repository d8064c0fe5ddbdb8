// skopeo's transport syntax for where images are: `oci:DIR[:NAME|@DIGEST]`,
// `oci-archive:FILE[:NAME]`, `docker-archive:FILE[:REF|:@N]`, and `docker://REF` or a bare
// reference for a registry. As in skopeo, the path ends at the first colon after the prefix.
import { usageError } from '../errors.js';

export type StorageSpec =
  | { transport: 'registry'; reference: string }
  | { transport: 'oci'; path: string; name?: string; digest?: string }
  | { transport: 'oci-archive'; path: string; name?: string }
  | { transport: 'docker-archive'; path: string; name?: string };

const DIGEST_SUFFIX = /@([a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)$/;

export function parseStorageSpec(input: string, flag: string): StorageSpec {
  const m = /^(oci|oci-archive|docker-archive):(.*)$/s.exec(input);
  if (!m) return { transport: 'registry', reference: input.startsWith('docker://') ? input.slice('docker://'.length) : input };
  const transport = m[1] as 'oci' | 'oci-archive' | 'docker-archive';
  let rest = m[2]!;
  let digest: string | undefined;
  const d = transport === 'oci' ? DIGEST_SUFFIX.exec(rest) : null;
  if (d) {
    digest = d[1];
    rest = rest.slice(0, d.index);
  }
  const colon = rest.indexOf(':');
  const path = colon < 0 ? rest : rest.slice(0, colon);
  const name = colon < 0 ? undefined : rest.slice(colon + 1);
  if (!path) throw usageError(`${flag} '${input}' has no path after '${transport}:'.`, `Write it as ${transport}:${transport === 'oci' ? 'DIR' : 'FILE'}${transport === 'docker-archive' ? '[:REF]' : '[:NAME]'}.`);
  if (name === '') throw usageError(`${flag} '${input}' ends with ':' but names no image.`);
  if (digest && name !== undefined) throw usageError(`${flag} '${input}' gives both a name and a digest; give one.`);
  if (transport === 'oci') return { transport, path, name, digest };
  return { transport, path, name };
}

/** How a spec reads in messages. */
export function formatStorageSpec(spec: StorageSpec): string {
  if (spec.transport === 'registry') return spec.reference;
  const ref = spec.transport === 'oci' && spec.digest ? `@${spec.digest}` : spec.name ? `:${spec.name}` : '';
  return `${spec.transport}:${spec.path}${ref}`;
}
