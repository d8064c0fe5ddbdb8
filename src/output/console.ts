// Human output: everything goes to stderr (stdout is kept for --output json), coloured unless
// NO_COLOR, --no-color or a non-TTY says otherwise. Debug lines are already redacted upstream.
import { Chalk, type ChalkInstance } from 'chalk';
import { AcrImportError } from '../errors.js';
import { redactText } from '../transport/redact.js';
import { sanitizeForDisplay } from '../text/sanitize.js';

export interface ConsoleOptions {
  quiet?: boolean;
  color?: boolean;
  debug?: boolean;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export class Console {
  readonly paint: ChalkInstance;
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly quiet: boolean;
  readonly debugEnabled: boolean;

  constructor(o: ConsoleOptions = {}) {
    this.stream = o.stream ?? process.stderr;
    // chalk ignores NO_COLOR itself, so the level is decided here.
    const color = o.color !== false && !process.env.NO_COLOR && Boolean(this.stream.isTTY || process.env.FORCE_COLOR);
    this.paint = new Chalk({ level: color ? 1 : 0 });
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

  warn(line: string): void {
    this.write(this.paint.yellow(`Warning: ${sanitizeForDisplay(line)}`));
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
