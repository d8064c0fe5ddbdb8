// One parser per kind of flag value, used by every command that has the flag: a value is parsed
// and checked once, when commander reads it, and commands receive numbers, never strings.
import { usageError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3, t: 1e12, tb: 1e12, tib: 1024 ** 4 };

/** `2GiB`, `500MB`, `1048576` → bytes. */
export function parseSize(value: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw usageError(`${flag} takes a size such as 2GiB, 500MiB or a number of bytes, not '${value}'.`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1) throw usageError(`${flag} must be at least 1 byte.`);
  return bytes;
}

/** A whole number of at least `min`. */
export function parseWholeNumber(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!value.trim() || !Number.isInteger(n) || n < min) throw usageError(`${flag} must be a whole number of at least ${min}, not '${value}'.`);
  return n;
}

/** commander's argParser for a whole-number flag. */
export const wholeNumberFlag = (flag: string, min: number) => (value: string) => parseWholeNumber(value, flag, min);

/** commander's argParser for a size flag. */
export const sizeFlag = (flag: string) => (value: string) => parseSize(value, flag);
