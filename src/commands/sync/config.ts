// The sync file: a default target and a list of images to mirror (YAML or JSON; JSON is read by
// the same YAML parser, so both give line numbers). Everything is checked here, before any
// request: every problem is reported at once, each as `FILE:LINE: FIELD: what is wrong`.
// schema/sync-config.schema.json describes the same shape for editors.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type YAMLMap } from 'yaml';
import { usageError } from '../../errors.js';
import { formatReference, parseReference, parseTargetImage, validateRepository, validateTag, type ImageReference } from '../../oci/reference.js';
import { parseStorageSpec } from '../../content/transports.js';
import { CLOUDS, loginServerFor } from '../../providers/azure/cloud.js';
import { looksLikeResourceId, parseRegistryResourceId } from '../../providers/azure/arm.js';
import { parseSize } from '../../text/size.js';
import { parsePlatforms } from '../../copy/platforms.js';
import { regexProblem, semverRangeProblem, type TagSelector } from './select-tags.js';

/** Per-entry settings that mirror the import flags; `defaults:` sets them for every entry. */
export interface EntryOptions {
  force: boolean;
  maxManifests?: number;
  maxLayerSize?: number;
  includeForeignLayers: boolean;
  /** `--platform`: the platforms to keep (empty: all). */
  platforms: string[];
  /** `--include-referrers`. */
  referrers: boolean;
  /** `--referrers-artifact-type`: narrows the referrers copied (empty: all). */
  referrerArtifactTypes: string[];
}

export interface SyncEntry extends EntryOptions {
  /** Position in the file (0-based) and its line, for messages. */
  index: number;
  line: number;
  /** The source as written, and parsed. */
  sourceText: string;
  source: ImageReference;
  tags: TagSelector;
  /** Where to: a registry (-n's forms) or an oci:/oci-archive: file. */
  target: string;
  /** The target repository (default: the source's path). */
  repository: string;
  /** The target tag, when `repository` gives one (an entry of one image); else each source tag. */
  targetTag?: string;
}

export interface SyncConfig {
  file: string;
  entries: SyncEntry[];
}

const ENTRY_OPTION_FIELDS = ['force', 'maxManifests', 'maxLayerSize', 'includeForeignLayers', 'platforms', 'referrers'] as const;
const ENTRY_FIELDS = new Set<string>(['source', 'tags', 'repository', 'target', ...ENTRY_OPTION_FIELDS]);
const TOP_FIELDS = new Set(['target', 'defaults', 'images']);

/** Collects problems with their place; thrown together as one usage error. */
class Problems {
  readonly list: string[] = [];
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  lineOf(node: YamlNode | null | undefined): number {
    return node?.range ? this.lines.linePos(node.range[0]).line : 1;
  }

  add(node: YamlNode | null | undefined, field: string, what: string): void {
    this.list.push(`${this.file}:${this.lineOf(node)}: ${field ? `${field}: ` : ''}${what}`);
  }
}

/**
 * Parses and checks a sync file's text; `file` names it in messages ('-' reads as 'stdin').
 * `target` (the command's --target) replaces the file's default target.
 */
export function parseSyncConfig(text: string, file: string, options: { target?: string } = {}): SyncConfig {
  const name = file === '-' ? 'stdin' : file;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const p = new Problems(name, lines);
  for (const e of doc.errors) p.list.push(`${name}:${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  if (p.list.length) throw fail(p);
  const root = doc.contents;
  if (!isMap(root)) {
    p.add(root, '', 'the file must be a mapping with `target` and `images` (see the README, "Mirror sets of images")');
    throw fail(p);
  }
  checkKnown(p, root, TOP_FIELDS, '');
  const fileTarget = optionalString(p, root, 'target', 'target');
  if (fileTarget !== undefined && options.target === undefined) checkTarget(p, root.get('target', true) as YamlNode, 'target', fileTarget);
  if (options.target !== undefined) check(p, undefined, '--target', () => checkTargetValue(options.target!, '--target'));
  const defaultTarget = options.target ?? fileTarget;
  const defaultsNode = root.get('defaults', true) as YamlNode | undefined;
  let defaults: EntryOptions = { force: false, includeForeignLayers: false, platforms: [], referrers: false, referrerArtifactTypes: [] };
  if (defaultsNode !== undefined) {
    if (!isMap(defaultsNode)) p.add(defaultsNode, 'defaults', `must be a mapping of ${ENTRY_OPTION_FIELDS.join(', ')}`);
    else {
      checkKnown(p, defaultsNode, new Set(ENTRY_OPTION_FIELDS), 'defaults');
      defaults = entryOptions(p, defaultsNode, 'defaults', defaults);
    }
  }
  const images = root.get('images', true) as YamlNode | undefined;
  const entries: SyncEntry[] = [];
  if (images === undefined) p.add(root, 'images', 'is missing: list the images to mirror');
  else if (!isSeq(images)) p.add(images, 'images', 'must be a list');
  else if (!images.items.length) p.add(images, 'images', 'is empty');
  else {
    images.items.forEach((item, i) => {
      const entry = parseEntry(p, item as YamlNode, `images[${i}]`, i, defaults, defaultTarget);
      if (entry) entries.push(entry);
    });
  }
  // The same tag written twice by two entries would race: one of them must go.
  const seen = new Map<string, SyncEntry>();
  for (const e of entries) {
    if (e.tags.kind !== 'list') continue;
    for (const t of e.tags.tags) {
      const key = `${e.target}\n${e.repository}:${e.targetTag ?? t}`;
      const first = seen.get(key);
      if (first && first !== e) p.list.push(`${name}:${e.line}: images[${e.index}]: writes ${e.repository}:${e.targetTag ?? t}, as images[${first.index}] (line ${first.line}) does`);
      else seen.set(key, e);
    }
  }
  if (p.list.length) throw fail(p);
  return { file: name, entries };
}

function fail(p: Problems): Error {
  const n = p.list.length;
  return usageError(`${n === 1 ? 'The sync file has a problem' : `The sync file has ${n} problems`}:\n  ${p.list.join('\n  ')}`, 'Nothing was copied. The file\'s fields are described in the README, "Mirror sets of images (sync)".');
}

function checkKnown(p: Problems, map: YAMLMap, known: Set<string>, where: string): void {
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!known.has(key)) p.add(pair.key as YamlNode, where ? `${where}.${key}` : key, `unknown field (known: ${[...known].join(', ')})`);
  }
}

function scalarOf(map: YAMLMap, key: string): { node?: YamlNode; value?: unknown } {
  const node = map.get(key, true) as YamlNode | undefined;
  return { node, value: isScalar(node) ? node.value : node };
}

function optionalString(p: Problems, map: YAMLMap, key: string, field: string): string | undefined {
  const { node, value } = scalarOf(map, key);
  if (node === undefined) return undefined;
  if (typeof value !== 'string' || !value.trim()) {
    p.add(node, field, 'must be a non-empty string');
    return undefined;
  }
  return value.trim();
}

function optionalBoolean(p: Problems, map: YAMLMap, key: string, field: string): boolean | undefined {
  const { node, value } = scalarOf(map, key);
  if (node === undefined) return undefined;
  if (typeof value !== 'boolean') {
    p.add(node, field, 'must be true or false');
    return undefined;
  }
  return value;
}

function stringList(p: Problems, node: YamlNode, field: string): string[] | undefined {
  if (!isSeq(node)) {
    p.add(node, field, 'must be a list of strings');
    return undefined;
  }
  const out: string[] = [];
  node.items.forEach((item, i) => {
    const v = isScalar(item) ? item.value : undefined;
    if (typeof v !== 'string' || !v) p.add(item as YamlNode, `${field}[${i}]`, 'must be a non-empty string');
    else out.push(v);
  });
  return out;
}

/** Runs a check that throws a usage error, as a problem at `node`. */
function check(p: Problems, node: YamlNode | undefined, field: string, fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    p.add(node, field, (err as Error).message);
    return false;
  }
}

function checkTarget(p: Problems, node: YamlNode, field: string, value: string): void {
  check(p, node, field, () => checkTargetValue(value, field));
}

/** A target as -n takes it: an ACR name, a login server, a resource ID, or an oci:/oci-archive: file. */
function checkTargetValue(value: string, field: string): void {
  if (looksLikeResourceId(value)) {
    if (!parseRegistryResourceId(value)) throw new Error(`'${value}' is not a container registry resource ID`);
    return;
  }
  const spec = parseStorageSpec(value, field);
  if (spec.transport === 'docker-archive') throw new Error('docker-archive: can only be a source; write to oci:DIR or oci-archive:FILE');
  if (spec.transport !== 'registry') {
    if (spec.name !== undefined || (spec.transport === 'oci' && spec.digest)) throw new Error(`${value} takes no image name: each image goes in under its repository and tag`);
    return;
  }
  // The cloud only adds a suffix to a bare name: any cloud tells whether the name is valid.
  loginServerFor(value, CLOUDS.azurecloud!);
}

function entryOptions(p: Problems, map: YAMLMap, where: string, base: EntryOptions): EntryOptions {
  const out: EntryOptions = { ...base };
  out.force = optionalBoolean(p, map, 'force', `${where}.force`) ?? base.force;
  out.includeForeignLayers = optionalBoolean(p, map, 'includeForeignLayers', `${where}.includeForeignLayers`) ?? base.includeForeignLayers;
  const mm = scalarOf(map, 'maxManifests');
  if (mm.node !== undefined) {
    if (typeof mm.value !== 'number' || !Number.isInteger(mm.value) || mm.value < 1) p.add(mm.node, `${where}.maxManifests`, 'must be a whole number of at least 1');
    else out.maxManifests = mm.value;
  }
  const ls = scalarOf(map, 'maxLayerSize');
  if (ls.node !== undefined) {
    if (typeof ls.value === 'number' && Number.isInteger(ls.value) && ls.value >= 1) out.maxLayerSize = ls.value;
    else if (typeof ls.value === 'string') check(p, ls.node, `${where}.maxLayerSize`, () => (out.maxLayerSize = parseSize(ls.value as string, 'maxLayerSize')));
    else p.add(ls.node, `${where}.maxLayerSize`, 'must be a size such as 2GiB or a number of bytes');
  }
  const platforms = map.get('platforms', true) as YamlNode | undefined;
  if (platforms !== undefined) {
    const list = stringList(p, platforms, `${where}.platforms`);
    if (list) {
      list.forEach((v, i) => {
        check(p, isSeq(platforms) ? (platforms.items[i] as YamlNode) : platforms, `${where}.platforms[${i}]`, () => parsePlatforms([v]));
      });
      out.platforms = list;
    }
  }
  const referrers = map.get('referrers', true) as YamlNode | undefined;
  if (referrers !== undefined) {
    if (isScalar(referrers) && typeof referrers.value === 'boolean') {
      out.referrers = referrers.value;
      out.referrerArtifactTypes = [];
    } else if (isMap(referrers)) {
      checkKnown(p, referrers, new Set(['artifactTypes']), `${where}.referrers`);
      const types = referrers.get('artifactTypes', true) as YamlNode | undefined;
      out.referrers = true;
      out.referrerArtifactTypes = types === undefined ? [] : (stringList(p, types, `${where}.referrers.artifactTypes`) ?? []);
    } else p.add(referrers, `${where}.referrers`, 'must be true, false or {artifactTypes: [TYPE, …]}');
  }
  return out;
}

function parseEntry(p: Problems, node: YamlNode, where: string, index: number, defaults: EntryOptions, defaultTarget: string | undefined): SyncEntry | undefined {
  if (!isMap(node)) {
    p.add(node, where, 'must be a mapping with at least `source`');
    return undefined;
  }
  const before = p.list.length;
  checkKnown(p, node, ENTRY_FIELDS, where);
  const sourceText = optionalString(p, node, 'source', `${where}.source`);
  const sourceNode = node.get('source', true) as YamlNode | undefined;
  if (sourceNode === undefined) p.add(node, `${where}.source`, 'is missing');
  let source: ImageReference | undefined;
  if (sourceText !== undefined) check(p, sourceNode, `${where}.source`, () => (source = parseReference(sourceText)));

  const target = optionalString(p, node, 'target', `${where}.target`) ?? defaultTarget;
  const targetNode = node.get('target', true) as YamlNode | undefined;
  if (targetNode !== undefined && target !== undefined) checkTarget(p, targetNode, `${where}.target`, target);
  if (target === undefined && targetNode === undefined) p.add(node, `${where}.target`, 'no target: give `target` at the top of the file or in the entry');

  const tags = source && sourceText !== undefined ? tagSelector(p, node, where, sourceText, source) : undefined;
  let repository = optionalString(p, node, 'repository', `${where}.repository`);
  let targetTag: string | undefined;
  const repositoryNode = node.get('repository', true) as YamlNode | undefined;
  if (repository !== undefined) {
    const given = repository;
    check(p, repositoryNode, `${where}.repository`, () => {
      // repo:tag, as -t takes it, for an entry of one image (the source names its tag or digest).
      const oneImage = tags?.kind === 'digest' || (tags?.kind === 'list' && !node.has('tags'));
      if (given.includes(':') && oneImage) ({ repository, tag: targetTag } = parseTargetImage(given));
      else if (given.includes(':') || given.includes('@')) throw new Error(`'${given}' takes a repository name only here; tags come from \`tags\` (repo:tag goes with a source that names one tag or digest)`);
      else validateRepository(given);
    });
  }

  const options = entryOptions(p, node, where, defaults);
  if (p.list.length > before || !source || !tags || target === undefined) return undefined;
  return { index, line: p.lineOf(node), sourceText: sourceText!, source, tags, target, repository: repository ?? source.repository, ...(targetTag ? { targetTag } : {}), ...options };
}

/** `tags:` or the source's own tag or digest; a repository alone needs `tags:`. */
function tagSelector(p: Problems, entry: YAMLMap, where: string, sourceText: string, source: ImageReference): TagSelector | undefined {
  const node = entry.get('tags', true) as YamlNode | undefined;
  const field = `${where}.tags`;
  // parseReference fills in `latest`; only a tag written in the source counts here.
  const lastPart = sourceText.slice(sourceText.lastIndexOf('/') + 1).split('@')[0]!;
  const explicitTag = lastPart.includes(':') ? source.tag : undefined;
  if (source.digest || explicitTag) {
    if (node !== undefined) {
      p.add(node, field, `the source names its ${source.digest ? 'digest' : 'tag'} already; give a repository as source to choose tags here`);
      return undefined;
    }
    return source.digest ? { kind: 'digest', digest: source.digest, tag: explicitTag } : { kind: 'list', tags: [explicitTag!] };
  }
  if (node === undefined) {
    p.add(entry.get('source', true) as YamlNode, field, `${sourceText} is a repository: choose its tags with \`tags\` (a list, {regex: …}, {semver: …} or all), or name one in the source`);
    return undefined;
  }
  if (isScalar(node)) {
    if (node.value === 'all') return { kind: 'all' };
    p.add(node, field, 'must be a list of tags, {regex: …}, {semver: …} or all');
    return undefined;
  }
  if (isSeq(node)) {
    const list = stringList(p, node, field);
    if (!list) return undefined;
    if (!list.length) {
      p.add(node, field, 'is empty');
      return undefined;
    }
    let ok = true;
    list.forEach((t, i) => (ok = check(p, node.items[i] as YamlNode, `${field}[${i}]`, () => validateTag(t)) && ok));
    return ok ? { kind: 'list', tags: list } : undefined;
  }
  if (isMap(node)) {
    checkKnown(p, node, new Set(['regex', 'semver']), field);
    const regex = optionalString(p, node, 'regex', `${field}.regex`);
    const range = optionalString(p, node, 'semver', `${field}.semver`);
    const regexWhy = regex === undefined ? undefined : regexProblem(regex);
    if (regexWhy) p.add(node.get('regex', true) as YamlNode, `${field}.regex`, `'${regex}' is not a regular expression: ${regexWhy}`);
    const rangeWhy = range === undefined ? undefined : semverRangeProblem(range);
    if (rangeWhy) p.add(node.get('semver', true) as YamlNode, `${field}.semver`, `'${range}' is ${rangeWhy}`);
    if (regex === undefined && range === undefined) {
      if (!node.items.length) p.add(node, field, 'give regex, semver or both');
      return undefined;
    }
    if (regexWhy || rangeWhy) return undefined;
    return { kind: 'match', ...(regex !== undefined ? { regex } : {}), ...(range !== undefined ? { semver: range } : {}) };
  }
  p.add(node, field, 'must be a list of tags, {regex: …}, {semver: …} or all');
  return undefined;
}

/**
 * `import --all-tags`: a sync of one entry, every tag of `source` (a repository, no tag or digest)
 * into `repository` (default: the source's path) of `target`.
 */
export function allTagsConfig(o: { source: string; target: string; repository?: string } & Pick<EntryOptions, 'force' | 'maxManifests' | 'maxLayerSize' | 'includeForeignLayers'>): SyncConfig {
  const source = parseReference(o.source);
  const lastPart = o.source.slice(o.source.lastIndexOf('/') + 1);
  if (source.digest || lastPart.includes(':')) throw usageError(`--all-tags copies every tag of a repository; --source ${o.source} names ${source.digest ? 'a digest' : 'a tag'}.`, `Use --source ${formatReference({ ...source, tag: undefined, digest: undefined })}.`);
  checkTargetValue(o.target, '--name');
  if (o.repository !== undefined) validateRepository(o.repository);
  return {
    file: '--all-tags',
    entries: [
      {
        index: 0,
        line: 1,
        sourceText: o.source,
        source,
        tags: { kind: 'all' },
        target: o.target,
        repository: o.repository ?? source.repository,
        force: o.force,
        maxManifests: o.maxManifests,
        maxLayerSize: o.maxLayerSize,
        includeForeignLayers: o.includeForeignLayers,
        platforms: [],
        referrers: false,
        referrerArtifactTypes: [],
      },
    ],
  };
}
