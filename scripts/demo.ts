// The quick-start demo: two local registries, a multi-arch image seeded into one, imported into
// the other with acr-import, and the result checked with skopeo. Installs what it needs with
// apt-get when it is missing (scripts/prerequisites.mjs, as `npm test` does).
import { execFileSync, spawnSync } from 'node:child_process';
import { pushImage, startRegistry } from '../test/harness/index.js';
// @ts-expect-error: a plain .mjs script, shared with `npm test`, has no type declarations.
import { ensurePrerequisites } from './prerequisites.mjs';

async function main(): Promise<void> {
  if ((ensurePrerequisites() as string[]).length) throw new Error('prerequisites are missing (see above)');
  const source = await startRegistry();
  const target = await startRegistry();
  try {
    console.log(`Source registry: ${source.host}    target registry: ${target.host}\n`);
    const image = await pushImage(source, 'library/demo-app', '1.0', { kind: 'index', platforms: 3, attestations: true, shareBaseLayer: true, layersPerImage: 2, layerSize: 256 * 1024 });
    console.log(`Seeded ${source.host}/library/demo-app:1.0: ${image.manifests.length} manifests, ${image.blobs.length} blobs (${image.digest})\n`);

    const args = ['bin/acr-import.js', '--name', target.host, '--source', `${source.host}/library/demo-app:1.0`, '--image', 'demo-app:1.0'];
    console.log(`$ acr-import ${args.slice(1).join(' ')}`);
    const run = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, CI: process.env.CI ?? '1' } });
    if (run.status !== 0) throw new Error(`acr-import exited with ${run.status}`);

    const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${target.host}/demo-app:1.0`]);
    const copied = `sha256:${(await import('node:crypto')).createHash('sha256').update(raw).digest('hex')}`;
    const index = JSON.parse(raw.toString()) as { manifests: { platform?: { os: string; architecture: string; variant?: string } }[] };
    console.log(`\n$ skopeo inspect --raw docker://${target.host}/demo-app:1.0`);
    for (const m of index.manifests) console.log(`  ${[m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/')}`);
    if (copied !== image.digest) throw new Error(`digest changed: ${image.digest} → ${copied}`);
    console.log(`\nOK: ${target.host}/demo-app:1.0 is byte-identical to the source (${copied}).`);
  } finally {
    await source.stop();
    await target.stop();
  }
}

main().catch((err) => {
  console.error(`Demo failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
