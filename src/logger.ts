// What lower layers may say to the person running the command, without knowing how it is shown:
// output/console.ts implements it (colours, --quiet, --debug, redaction).
export interface Logger {
  info(line: string): void;
  success(line: string): void;
  /** Left out by --quiet. */
  warn(line: string): void;
  /** Shown with --debug only; redacted by the implementation. */
  debug(line: string): void;
}
