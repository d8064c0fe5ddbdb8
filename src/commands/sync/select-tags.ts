// Which tags of a source repository a sync entry copies: a list, a regular expression, a semver
// range, or all of them. Ranges use the `semver` package (npm's own rules); a tag is a version
// when it reads as one, with an optional leading `v` and missing minor or patch taken as 0, so
// `1.27` and `v1.27.3` count and `1.27-alpine` is 1.27.0 with the prerelease `alpine`, which a
// range leaves out unless it names a prerelease itself.
import semver from 'semver';

export type TagSelector =
  /** These tags (a list, or the tag the source names). */
  | { kind: 'list'; tags: string[] }
  /** The image with this digest; tagged `tag` in the target when the source gave one with it, else untagged. */
  | { kind: 'digest'; digest: string; tag?: string }
  /** Every tag the source lists. */
  | { kind: 'all' }
  /** The listed tags that match the expression and/or fall in the range (both, when both are given). */
  | { kind: 'match'; regex?: string; semver?: string };

/** Why a regular expression is unusable, or undefined. */
export function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source, 'u');
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^Invalid regular expression: /, '');
  }
}

/** Why a semver range is unusable, or undefined. */
export function semverRangeProblem(range: string): string | undefined {
  return semver.validRange(range) === null ? 'not a semver range (e.g. ">=1.25 <2", "^3.20", "1.27.x")' : undefined;
}

/** A tag as a version, or undefined when it does not read as one. */
export function tagVersion(tag: string): semver.SemVer | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?$/.exec(tag);
  if (!m) return undefined;
  return semver.parse(`${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}${m[4] ?? ''}`) ?? undefined;
}

/** Whether the selector needs the source's tag list (a list or a digest does not: HEADs suffice). */
export function needsTagList(selector: TagSelector): boolean {
  return selector.kind === 'all' || selector.kind === 'match';
}

/**
 * The tags to copy out of those the source lists, in natural order; versions in version order
 * (oldest first) when a range chose them, so a log reads like a release history.
 */
export function selectTags(selector: TagSelector, available: string[]): string[] {
  switch (selector.kind) {
    case 'list':
      return [...new Set(selector.tags)];
    case 'digest':
      return selector.tag ? [selector.tag] : [];
    case 'all':
      return byName([...new Set(available)]);
    case 'match': {
      const regex = selector.regex === undefined ? undefined : new RegExp(selector.regex, 'u');
      const range = selector.semver;
      const chosen = [...new Set(available)].filter((tag) => {
        if (regex && !regex.test(tag)) return false;
        if (range === undefined) return true;
        const v = tagVersion(tag);
        return v !== undefined && semver.satisfies(v, range);
      });
      if (range === undefined) return byName(chosen);
      return chosen.sort((a, b) => semver.compare(tagVersion(a)!, tagVersion(b)!) || a.localeCompare(b));
    }
  }
}

/** Registries list tags in their own order: a natural sort (1.9 before 1.10) makes runs comparable. */
function byName(tags: string[]): string[] {
  return tags.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** How a selector reads in messages and the plan. */
export function describeSelector(selector: TagSelector): string {
  switch (selector.kind) {
    case 'list':
      return selector.tags.join(', ');
    case 'digest':
      return selector.tag ? `${selector.tag}@${selector.digest}` : selector.digest;
    case 'all':
      return 'all tags';
    case 'match':
      return [selector.regex !== undefined ? `regex ${selector.regex}` : '', selector.semver !== undefined ? `semver ${selector.semver}` : ''].filter(Boolean).join(' and ');
  }
}
