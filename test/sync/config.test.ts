// The sync file: what it accepts, and the file:line:field of every problem it refuses.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSyncConfig } from '../../src/commands/sync/config.js';
import { AcrImportError, EXIT_CODES } from '../../src/errors.js';

function problems(text: string, file = 'mirror.yaml'): string[] {
  try {
    parseSyncConfig(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(AcrImportError);
    expect((err as AcrImportError).exitCode).toBe(EXIT_CODES.usage);
    return (err as Error).message.split('\n').slice(1).map((l) => l.trim());
  }
  throw new Error('accepted');
}

describe('sync file', () => {
  it('reads the issue\'s example, with defaults and per-entry overrides', () => {
    const c = parseSyncConfig(
      `target: myregistry                    # like -n
defaults:
  maxManifests: 60
images:
  - source: docker.io/library/nginx
    tags: ["1.27", "1.27-alpine"]
    repository: mirror/nginx
  - source: registry.k8s.io/pause:3.10
    platforms: [linux/amd64, linux/arm64]
    referrers: true
    force: true
  - source: alpine
    tags: {regex: "^3\\\\.2[0-9]$", semver: ">=3.20 <4"}
    target: oci:/tmp/layout
    maxLayerSize: 1GiB
  - source: ghcr.io/org/tool@sha256:${'a'.repeat(64)}
    referrers: {artifactTypes: [application/vnd.cncf.notary.signature]}
  - source: quay.io/org/all
    tags: all
`,
      'mirror.yaml',
    );
    const [nginx, pause, alpine, tool, all] = c.entries;
    expect(nginx).toMatchObject({ line: 5, target: 'myregistry', repository: 'mirror/nginx', tags: { kind: 'list', tags: ['1.27', '1.27-alpine'] }, maxManifests: 60, force: false });
    expect(nginx!.source).toMatchObject({ registry: 'docker.io', repository: 'library/nginx' });
    expect(pause).toMatchObject({ repository: 'pause', tags: { kind: 'list', tags: ['3.10'] }, platforms: ['linux/amd64', 'linux/arm64'], referrers: true, force: true, maxManifests: 60 });
    expect(alpine).toMatchObject({ repository: 'library/alpine', target: 'oci:/tmp/layout', tags: { kind: 'match', regex: '^3\\.2[0-9]$', semver: '>=3.20 <4' }, maxLayerSize: 1024 ** 3 });
    expect(tool).toMatchObject({ tags: { kind: 'digest', digest: `sha256:${'a'.repeat(64)}` }, referrers: true, referrerArtifactTypes: ['application/vnd.cncf.notary.signature'] });
    expect(all!.tags).toEqual({ kind: 'all' });
  });

  it('reads JSON with the same line numbers', () => {
    const text = JSON.stringify({ target: '127.0.0.1:5000', images: [{ source: 'a/b:1' }, { source: 'a/c', tags: { semver: "no range" } }] }, null, 2);
    expect(parseSyncConfig(text.replace('no range', '1.x'), 'm.json').entries).toHaveLength(2);
    expect(problems(text, 'm.json')).toEqual(["m.json:10: images[1].tags.semver: 'no range' is not a semver range (e.g. \">=1.25 <2\", \"^3.20\", \"1.27.x\")"]);
  });

  it('names the file, line and field of every problem at once', () => {
    const list = problems(`target: myregistry
images:
  - source: nginx
    tags: {regex: "([a-z"}
  - source: "Bad Ref"
    tags: [1.0]
  - source: redis
    tag: ["7"]
  - source: busybox:1
    tags: ["1"]
  - source: postgres
    tags: {semver: "latest"}
  - source: node
    tags: ["20"]
    platforms: [linux]
    maxManifests: 0
    repository: mirror/node:20
`);
    expect(list).toEqual([
      expect.stringMatching(/^mirror\.yaml:4: images\[0\]\.tags\.regex: '\(\[a-z' is not a regular expression: /),
      expect.stringMatching(/^mirror\.yaml:5: images\[1\]\.source: invalid image reference "Bad Ref"/),
      'mirror.yaml:8: images[2].tag: unknown field (known: source, tags, repository, target, force, maxManifests, maxLayerSize, includeForeignLayers, platforms, referrers)',
      expect.stringMatching(/^mirror\.yaml:7: images\[2\]\.tags: docker\.io\/library\/redis|^mirror\.yaml:7: images\[2\]\.tags: redis is a repository/),
      "mirror.yaml:10: images[3].tags: the source names its tag already; give a repository as source to choose tags here",
      "mirror.yaml:12: images[4].tags.semver: 'latest' is not a semver range (e.g. \">=1.25 <2\", \"^3.20\", \"1.27.x\")",
      "mirror.yaml:17: images[5].repository: 'mirror/node:20' takes a repository name only here; tags come from `tags` (repo:tag goes with a source that names one tag or digest)",
      'mirror.yaml:16: images[5].maxManifests: must be a whole number of at least 1',
      'mirror.yaml:15: images[5].platforms[0]: --platform "linux" is not os/arch[/variant] (such as linux/amd64 or linux/arm64/v8).',
    ]);
  });

  it('refuses wrong types, unknown top-level fields, a missing target and a bad target', () => {
    expect(problems('images: []\nextra: 1\n')).toEqual(['mirror.yaml:2: extra: unknown field (known: target, defaults, images)', 'mirror.yaml:1: images: is empty']);
    expect(problems('images:\n  - source: a/b:1\n')).toEqual(['mirror.yaml:2: images[0].target: no target: give `target` at the top of the file or in the entry']);
    expect(problems('target: https://x.io\nimages:\n  - source: a/b:1\n    force: "yes"\n')).toEqual([
      expect.stringMatching(/^mirror\.yaml:1: target: 'https:\/\/x\.io' is a URL/),
      'mirror.yaml:4: images[0].force: must be true or false',
    ]);
    expect(problems('target: docker-archive:/tmp/x.tar\nimages:\n  - source: a/b:1\n')).toEqual(['mirror.yaml:1: target: docker-archive: can only be a source; write to oci:DIR or oci-archive:FILE']);
    expect(problems('- a\n- b\n')).toEqual(['mirror.yaml:1: the file must be a mapping with `target` and `images` (see the README, "Mirror sets of images")']);
  });

  it('refuses YAML syntax errors and duplicate keys with their line', () => {
    expect(problems('target: a.io\nimages:\n  - source: x/y:1\n    source: x/z:1\n')[0]).toMatch(/^mirror\.yaml:4: Map keys must be unique/);
    expect(problems('target: a.io\nimages: [\n', '-')[0]).toMatch(/^stdin:\d+: /);
  });

  it('takes repo:tag for an entry of one image, and --target over the file\'s target', () => {
    const c = parseSyncConfig('target: a.io\nimages:\n  - source: debian:bookworm-slim\n    repository: mirror/debian:12\n  - source: x/y:1\n    target: oci:/tmp/l\n', 'm.yaml', { target: '127.0.0.1:5000' });
    expect(c.entries.map((e) => [e.target, e.repository, e.targetTag])).toEqual([['127.0.0.1:5000', 'mirror/debian', '12'], ['oci:/tmp/l', 'x/y', undefined]]);
    expect(problems('images:\n  - source: x/y:1\n', 'm.yaml')).toEqual(['m.yaml:2: images[0].target: no target: give `target` at the top of the file or in the entry']);
    expect(() => parseSyncConfig('images:\n  - source: x/y:1\n', 'm.yaml', { target: 'https://a' })).toThrow(/m\.yaml:1: --target: 'https:\/\/a' is a URL/);
  });

  it('refuses two entries writing the same tag', () => {
    expect(problems('target: a.io\nimages:\n  - source: x/y:1\n  - source: z/y:1\n    repository: x/y\n')).toEqual(['mirror.yaml:4: images[1]: writes x/y:1, as images[0] (line 3) does']);
  });
});

describe('schema/sync-config.schema.json', () => {
  const schema = JSON.parse(readFileSync(new URL('../../schema/sync-config.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

  it('describes the files acr-import takes: the examples and the issue\'s shape', () => {
    for (const file of ['mirror.yaml']) {
      const value = parse(readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8')) as unknown;
      expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
    }
    const shape = { target: 'myregistry', defaults: { force: true }, images: [{ source: 'nginx', tags: { semver: '>=1.25 <2' }, platforms: ['linux/amd64'], referrers: { artifactTypes: ['x'] } }, { source: 'a/b', tags: 'all' }] };
    expect(validate(shape), JSON.stringify(validate.errors)).toBe(true);
    expect(() => parseSyncConfig(JSON.stringify(shape), 'x.json')).not.toThrow();
  });

  it('refuses what the parser refuses for its shape: unknown fields, wrong types', () => {
    for (const bad of [{ images: [{ source: 'a/b:1', tag: '1' }] }, { images: [{ source: 'a/b:1', force: 'yes' }] }, { images: [] }, { target: 'x', images: [{ source: 'a/b', tags: 'some' }] }, { images: [{ source: 'a/b:1' }], extra: 1 }]) {
      expect(validate(bad), JSON.stringify(bad)).toBe(false);
      expect(() => parseSyncConfig(JSON.stringify(bad), 'x.json', { target: 'x.io' }), JSON.stringify(bad)).toThrow(/The sync file has/);
    }
  });
});
