// Bundled libraries log on their own when asked to: the Azure SDK under AZURE_LOG_LEVEL
// (@azure/logger), the `debug` package under DEBUG, Node's debuglog (undici) under NODE_DEBUG.
// Their lines carry tokens, signed URLs and proxy passwords, so they pass the redactor as ours do.
import { format } from 'node:util';
import { redactText, redactUrl } from './redact.js';

const LIBRARY_LOG_ENV = ['AZURE_LOG_LEVEL', 'DEBUG', 'NODE_DEBUG'];
let guarded = false;

function redactLine(text: string): string {
  return redactUrl(redactText(text));
}

/**
 * When a library log switch is set, everything written to stderr passes the redactor: the
 * libraries write there directly (`process.stderr.write`), with no hook of their own.
 */
export function redactLibraryLogs(env: NodeJS.ProcessEnv, stderr: NodeJS.WriteStream = process.stderr): void {
  if (guarded || !LIBRARY_LOG_ENV.some((name) => env[name])) return;
  guarded = true;
  const write = stderr.write.bind(stderr) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(typeof chunk === 'string' ? redactLine(chunk) : Buffer.isBuffer(chunk) ? redactLine(chunk.toString('utf8')) : chunk, ...rest)) as typeof stderr.write;
}

/** @azure/logger's lines (AZURE_LOG_LEVEL) through the redactor; called where the Azure SDK is loaded. */
export async function routeAzureLogger(): Promise<void> {
  const { AzureLogger } = await import('@azure/logger');
  AzureLogger.log = (...args: unknown[]) => {
    process.stderr.write(`${redactLine(format(...args))}\n`);
  };
}
