// `sync --server-side`: each image is imported by ACR itself (ARM importImage, as
// `import --server-side` does it), so the bytes never pass through this machine. Tags chosen by a
// regex, a range or `all` are still listed here, from the source; the number of imports in
// flight is the scheduler's (--parallel).
import { usageError } from '../../errors.js';
import { explicitSecret } from '../../auth/keychain.js';
import type { AzureSession } from '../../providers/azure/session.js';
import { findTargetRegistry, importImageBody, postImportImage, redactBody } from '../import-server-side.js';
import { formatReference } from '../../oci/reference.js';
import type { SyncEntry } from './config.js';
import { sourceReferenceOf, targetsOf, type ImageCopier } from './run.js';

export function serverSideCopier(session: AzureSession, o: { dryRun: boolean; env: NodeJS.ProcessEnv }): ImageCopier {
  const targets = new Map<string, ReturnType<typeof findTargetRegistry>>();
  const targetOf = (entry: SyncEntry) => {
    let t = targets.get(entry.target);
    if (!t) {
      t = findTargetRegistry(session, entry.target, undefined);
      targets.set(entry.target, t);
    }
    return t;
  };
  return async (entry, tag, signal) => {
    // importImage copies whole images, without their referrers.
    if (entry.platforms.length || entry.referrers) throw usageError(`images[${entry.index}] asks for ${entry.platforms.length ? 'platforms' : 'referrers'}: ACR's import service copies whole images without referrers. Sync it without --server-side.`);
    const reference = sourceReferenceOf(entry, tag);
    const sourceRef = { ...entry.source, ...(reference.includes(':') ? { tag: undefined, digest: reference } : { tag: reference, digest: undefined }) };
    // As for import --server-side: only credentials bound to the source registry go to ACR.
    const secret = explicitSecret('source', sourceRef.registry, {}, o.env, undefined);
    const credentials = secret.password ? { ...(secret.username ? { username: secret.username } : {}), password: secret.password } : undefined;
    const body = await importImageBody(session, sourceRef, targetsOf(entry, tag), { credentials, force: entry.force });
    const target = await targetOf(entry);
    const outcome = { bytes: 0, blobs: { copied: 0, mounted: 0, skipped: 0 }, ...(sourceRef.digest ? { digest: sourceRef.digest } : {}) };
    if (o.dryRun) {
      session.console.debug(`would POST importImage to ${target.id}: ${JSON.stringify(redactBody(body))}`);
      return { status: 'would-copy', ...outcome };
    }
    await postImportImage(session, target.id, body, `the import of ${formatReference(sourceRef)} into ${target.loginServer}`, { wait: true, signal, env: o.env });
    return { status: 'copied', ...outcome };
  };
}
