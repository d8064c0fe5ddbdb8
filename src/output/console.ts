// Human output: everything goes to stderr (stdout is kept for --output json), coloured unless
// NO_COLOR, FORCE_COLOR=0, TERM=dumb, --no-color or a non-TTY says otherwise. Debug lines are
// already redacted upstream.
import { Chalk, type ChalkInstance } from 'chalk';
import { AcrImportError } from '../errors.js';
import type { Logger } from '../logger.js';
import { redactText } from '../transport/redact.js';
import { sanitizeForDisplay } from '../text/sanitize.js';

export interface ConsoleOptions {
  quiet?: boolean;
  color?: boolean;
  debug?: boolean;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where NO_COLOR, FORCE_COLOR and TERM are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Whether to colour a stream. chalk's own detection ignores NO_COLOR and looks only at
 * process.stdout, so the decision is made here, once, for every coloured thing we print.
 */
export function colourWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag = true): boolean {
  const force = env.FORCE_COLOR;
  if (!flag || env.NO_COLOR || env.TERM === 'dumb' || force === '0' || force === 'false') return false;
  return Boolean(stream.isTTY) || force !== undefined;
}

export class Console implements Logger {
  readonly paint: ChalkInstance;
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly quiet: boolean;
  readonly debugEnabled: boolean;
  readonly color: boolean;
  readonly env: NodeJS.ProcessEnv;

  constructor(o: ConsoleOptions = {}) {
    this.stream = o.stream ?? process.stderr;
    this.env = o.env ?? process.env;
    this.color = colourWanted(this.stream, this.env, o.color !== false);
    this.paint = new Chalk({ level: this.color ? 1 : 0 });
    this.quiet = Boolean(o.quiet);
    this.debugEnabled = Boolean(o.debug);
  }

  private write(line: string): void {
    this.stream.write(`${line}\n`);
  }

  info(line: string): void {
    if (!this.quiet) this.write(sanitizeForDisplay(line));
  }

  success(line: string): void {
    if (!this.quiet) this.write(this.paint.green(sanitizeForDisplay(line)));
  }

  /** Warnings are not errors: --quiet leaves them out. */
  warn(line: string): void {
    if (!this.quiet) this.write(this.paint.yellow(`Warning: ${sanitizeForDisplay(line)}`));
  }

  debug(line: string): void {
    if (this.debugEnabled) this.write(this.paint.dim(`debug: ${sanitizeForDisplay(redactText(line))}`));
  }

  /** An error as the user sees it: the message and a hint, never a stack trace (except with --debug). */
  error(err: unknown): void {
    if (err instanceof AcrImportError) {
      this.write(this.paint.red(`Error: ${sanitizeForDisplay(redactText(err.message))}`));
      if (err.hint) this.write(sanitizeForDisplay(redactText(err.hint)));
    } else {
      const e = err as Error;
      this.write(this.paint.red(`Error: ${sanitizeForDisplay(redactText(e?.message ?? String(err)))}`));
    }
    if (this.debugEnabled && (err as Error)?.stack) this.debug(String((err as Error).stack));
  }
}
