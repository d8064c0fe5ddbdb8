// Archives laid out as `docker save` writes them (no docker needed): manifest.json, the config
// as <hex>.json, each layer as <id>/layer.tar with its VERSION and json, and `repositories`.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tarFiles } from '../harness/index.js';

export interface SavedImage {
  repoTags: string[];
  /** Each layer's files; the layer is a tar of them. */
  layers: Record<string, Buffer | string>[];
  /** Store this layer (by index) gzip-compressed, as some tools other than docker do. */
  gzipLayers?: number[];
}

export interface SavedArchive {
  /** Per image: the config's digest and bytes, and each layer's uncompressed digest and size. */
  images: { config: { digest: string; bytes: Buffer }; layers: { digest: string; size: number }[] }[];
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A tar of `files`, as the harness builds them. */
const tarOf = (files: Record<string, Buffer | string>): Buffer => tarFiles(Object.entries(files).map(([name, content]) => ({ name, content })));

export async function writeDockerSave(file: string, images: SavedImage[]): Promise<SavedArchive> {
  const files: Record<string, Buffer | string> = {};
  const manifest: unknown[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const out: SavedArchive = { images: [] };
  for (const image of images) {
    const layers = image.layers.map((l) => tarOf(l));
    const diffIds = layers.map((l) => `sha256:${sha256(l)}`);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/hello'] }, rootfs: { type: 'layers', diff_ids: diffIds }, history: layers.map(() => ({ created_by: 'fixture' })) }));
    const configHex = sha256(config);
    files[`${configHex}.json`] = config;
    const layerPaths: string[] = [];
    let parent = '';
    layers.forEach((layer, i) => {
      const id = sha256(Buffer.from(`${parent}\n${diffIds[i]}`));
      files[`${id}/VERSION`] = '1.0';
      files[`${id}/json`] = JSON.stringify({ id, ...(parent ? { parent } : {}) });
      files[`${id}/layer.tar`] = image.gzipLayers?.includes(i) ? gzipSync(layer) : layer;
      layerPaths.push(`${id}/layer.tar`);
      parent = id;
    });
    manifest.push({ Config: `${configHex}.json`, RepoTags: image.repoTags, Layers: layerPaths });
    for (const t of image.repoTags) {
      const [repo, tag] = [t.slice(0, t.lastIndexOf(':')), t.slice(t.lastIndexOf(':') + 1)];
      (repositories[repo] ??= {})[tag] = parent;
    }
    out.images.push({ config: { digest: `sha256:${configHex}`, bytes: config }, layers: layers.map((l, i) => ({ digest: diffIds[i]!, size: l.length })) });
  }
  files['manifest.json'] = JSON.stringify(manifest);
  files.repositories = JSON.stringify(repositories);
  await writeFile(file, tarOf(files));
  return out;
}
