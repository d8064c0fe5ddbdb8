// The `-o json` contract: one object on stdout, versioned, the same fields on a copy, a no-op and
// a dry run, and one error object when the command fails. The published JSON Schema
// (schema/import-result.schema.json) describes exactly these objects.
import { AcrImportError, exitCodeOf, type ErrorKind } from '../errors.js';
import { redactText } from '../transport/redact.js';
import type { ImportSummary } from './summary.js';

/** Raised when a field changes meaning or goes away; new fields do not raise it. */
export const SCHEMA_VERSION = 1;

export type Side = 'source' | 'target';

export interface ImportResultJson extends ImportSummary {
  schemaVersion: number;
  ok: true;
  /** Manifests locked by --lock; null without --lock. */
  locked: unknown[] | null;
}

export interface ErrorJson {
  schemaVersion: number;
  ok: false;
  error: { exitCode: number; kind: ErrorKind; message: string; hint: string | null; side: Side | null };
}

export function importResultJson(summary: ImportSummary, locked?: unknown[]): ImportResultJson {
  return { schemaVersion: SCHEMA_VERSION, ok: true, ...summary, locked: locked ?? null };
}

/** The registries of each side, to tell which side a registry error came from. */
export interface SideHosts {
  source?: string;
  target?: string;
}

// Errors do not know which side they came from; the command that knows its registries notes it
// here as the error passes, and the error object reads it.
const sides = new WeakMap<object, Side>();

/**
 * Notes which side an error came from, when the two sides are different registries: a registry
 * error names its registry; a tag conflict is the target's; other errors name the registry they
 * are about in their message (a missing source, a refused connection). Returns the side noted.
 */
export function noteSide(err: unknown, hosts: SideHosts): Side | undefined {
  if (!(err instanceof AcrImportError) || !hosts.source || !hosts.target || hosts.source === hosts.target) return undefined;
  let side: Side | undefined;
  // A RegistryError's registry, read without importing it: this module loads with --help, the
  // registry layer (undici) only when a command runs.
  const registry = 'registry' in err && typeof err.registry === 'string' ? err.registry : undefined;
  if (registry !== undefined) side = registry === hosts.source ? 'source' : registry === hosts.target ? 'target' : undefined;
  else if (err.kind === 'conflict') side = 'target';
  else {
    // A whole name: 127.0.0.1:5000 is not named by 127.0.0.1:50001.
    const names = (host: string) => new RegExp(`(?<![\\w.-])${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-]|\\.\\w)`).test(err.message);
    if (names(hosts.source) && !names(hosts.target)) side = 'source';
    else if (names(hosts.target) && !names(hosts.source)) side = 'target';
  }
  if (side) sides.set(err, side);
  return side;
}

/** The error object; `exitCode` is the process's (SIGTERM's differs from its error's own). */
export function errorJson(err: unknown, exitCode = exitCodeOf(err)): ErrorJson {
  const known = err instanceof AcrImportError;
  return {
    schemaVersion: SCHEMA_VERSION,
    ok: false,
    error: {
      exitCode,
      kind: known ? err.kind : 'internal',
      message: redactText(known ? err.message : ((err as Error)?.message ?? String(err))),
      hint: known && err.hint ? redactText(err.hint) : null,
      side: (typeof err === 'object' && err !== null && sides.get(err)) || null,
    },
  };
}

/** Pretty-printed, one object, a newline after it. */
export function jsonText(value: ImportResultJson | ErrorJson | unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
