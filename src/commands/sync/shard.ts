// `--shard I/N`: which entries this run takes when N runs share a sync file (a CI matrix). An
// entry's shard comes from a hash of its source and target, not its position, so adding or
// removing an entry moves no other entry to another shard.
import { createHash } from 'node:crypto';
import { usageError } from '../../errors.js';
import { formatReference } from '../../oci/reference.js';
import type { SyncEntry } from './config.js';

export interface Shard {
  /** 1-based, as CI matrices count. */
  index: number;
  count: number;
}

export function parseShard(value: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw usageError(`--shard takes I/N with 1 ≤ I ≤ N (e.g. 2/4), not '${value}'.`);
  return { index, count };
}

/** The entry's identity for sharding: what it copies from where to where. */
export function shardKey(e: Pick<SyncEntry, 'source' | 'target' | 'repository'>): string {
  return `${formatReference(e.source)}\n${e.target}/${e.repository}`;
}

/** 1..count: the shard an entry belongs to. */
export function shardOf(key: string, count: number): number {
  const h = createHash('sha256').update(key).digest();
  return (h.readUInt32BE(0) % count) + 1;
}

export function entriesOfShard<T extends Pick<SyncEntry, 'source' | 'target' | 'repository'>>(entries: T[], shard: Shard | undefined): T[] {
  if (!shard || shard.count === 1) return entries;
  return entries.filter((e) => shardOf(shardKey(e), shard.count) === shard.index);
}
