// Tag selection, shards and pull limits: pure rules, each checked on its edges.
import { describe, expect, it } from 'vitest';
import { selectTags, tagVersion } from '../../src/commands/sync/select-tags.js';
import { entriesOfShard, parseShard, shardKey, shardOf } from '../../src/commands/sync/shard.js';
import { PullBudget, PullLimitReached, parseRateLimit } from '../../src/commands/sync/rate-limit.js';
import { parseReference } from '../../src/oci/reference.js';

const TAGS = ['latest', '1.25', '1.25.5', 'v1.26.0', '1.27', '1.27-alpine', '1.27.3', '2.0.0', '2.0.0-rc.1', 'mainline', '1.9'];

describe('tag selection', () => {
  it('reads tags as versions: a leading v, missing parts as 0, a suffix as a prerelease', () => {
    expect(tagVersion('1.27')?.version).toBe('1.27.0');
    expect(tagVersion('v1.26.0')?.version).toBe('1.26.0');
    expect(tagVersion('1.27-alpine')?.version).toBe('1.27.0-alpine');
    expect(tagVersion('latest')).toBeUndefined();
    expect(tagVersion('1.2.3.4')).toBeUndefined();
  });

  it('a semver range picks versions in order, leaving out variants and prereleases', () => {
    expect(selectTags({ kind: 'match', semver: '>=1.25 <2' }, TAGS)).toEqual(['1.25', '1.25.5', 'v1.26.0', '1.27', '1.27.3']);
    expect(selectTags({ kind: 'match', semver: '^2.0.0-rc.0' }, TAGS)).toEqual(['2.0.0-rc.1', '2.0.0']);
  });

  it('a regex searches each tag; with a range both must hold', () => {
    expect(selectTags({ kind: 'match', regex: '^1\\.27' }, TAGS)).toEqual(['1.27', '1.27-alpine', '1.27.3']);
    expect(selectTags({ kind: 'match', regex: 'alpine$|^1\\.27$', semver: '1.27.x' }, TAGS)).toEqual(['1.27']);
  });

  it('all sorts naturally, without repeats; a list is taken as written', () => {
    expect(selectTags({ kind: 'all' }, ['1.10', 'b', '1.9', 'a', '1.9'])).toEqual(['1.9', '1.10', 'a', 'b']);
    expect(selectTags({ kind: 'list', tags: ['x', 'x', 'y'] }, [])).toEqual(['x', 'y']);
  });
});

describe('--shard', () => {
  const entries = Array.from({ length: 40 }, (_, i) => ({ source: parseReference(`docker.io/library/img${i}:1`), target: 'myregistry', repository: `mirror/img${i}` }));

  it('splits the entries into disjoint shards that cover them all', () => {
    const shards = [1, 2, 3].map((i) => entriesOfShard(entries, { index: i, count: 3 }));
    expect(shards.flat().sort((a, b) => a.repository.localeCompare(b.repository))).toEqual([...entries].sort((a, b) => a.repository.localeCompare(b.repository)));
    for (const s of shards) expect(s.length).toBeGreaterThan(4);
  });

  it('keeps every entry in its shard when entries are added or reordered', () => {
    const before = new Map(entries.map((e) => [e.repository, shardOf(shardKey(e), 4)]));
    const more = [...entries.slice(20), { source: parseReference('ghcr.io/new/one:2'), target: 'myregistry', repository: 'new/one' }, ...entries.slice(0, 20)];
    for (let i = 1; i <= 4; i++) {
      for (const e of entriesOfShard(more, { index: i, count: 4 })) if (before.has(e.repository)) expect(before.get(e.repository)).toBe(i);
    }
  });

  it('parses I/N and refuses the rest', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', '1', 'a/b', '-1/2']) expect(() => parseShard(bad)).toThrow(/--shard takes I\/N/);
  });
});

describe('pull limits', () => {
  it('reads Docker Hub\'s headers', () => {
    expect(parseRateLimit('95;w=21600')).toEqual({ count: 95, windowSeconds: 21600 });
    expect(parseRateLimit('100')).toEqual({ count: 100 });
    expect(parseRateLimit('x;w=1')).toBeUndefined();
    expect(parseRateLimit(undefined)).toBeUndefined();
  });

  it('spends pulls down to the reserve, then refuses with the reset time', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const budget = new PullBudget(1, () => now);
    budget.spend('registry-1.docker.io'); // nothing known yet: not limited
    budget.observe('registry-1.docker.io', { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '3;w=21600' });
    budget.spend('registry-1.docker.io');
    budget.spend('registry-1.docker.io');
    let refusal: unknown;
    try {
      budget.spend('registry-1.docker.io');
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(PullLimitReached);
    expect((refusal as PullLimitReached).state).toMatchObject({ remaining: 1, limit: 100, resetBy: new Date('2026-01-01T06:00:00Z') });
    expect((refusal as Error).message).toBe('registry-1.docker.io has 1 pull(s) left of 100; not fetching more before 2026-01-01T06:00:00.000Z.');
    // A later answer with a higher figure (GETs in flight not counted yet) does not raise the estimate.
    budget.observe('registry-1.docker.io', { 'ratelimit-remaining': '3;w=21600' });
    expect(budget.state('registry-1.docker.io')?.remaining).toBe(1);
    budget.spend('other.example'); // another host is not limited
  });
});
