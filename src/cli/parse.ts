// One parser per kind of flag value, used by every command that has the flag: a value is parsed
// and checked once, when commander reads it, and commands receive numbers, never strings.
import { usageError } from '../errors.js';
import { parseSize } from '../text/size.js';

export { parseSize };

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
