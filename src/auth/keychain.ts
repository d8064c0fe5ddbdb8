// Where each side's credentials come from: one chain of keychains, first match wins: flags and
// stdin, environment variables (bound to a registry), the docker config (credential helpers
// included), the containers auth.json (skopeo, podman), then any member a provider plugs in (the
// Azure provider's Entra ID, for an ACR), then anonymous. Shaped after go-containerregistry's
// authn.Keychain and MultiKeychain. Nothing here knows Azure.
import { text } from 'node:stream/consumers';
import { usageError } from '../errors.js';
import type { AuthCredential } from './authenticator.js';
import { containersAuthCredential } from './containers-auth.js';
import { credentialFromUserPassword, dockerConfigCredential, sameRegistry } from './docker-config.js';

/** How a side signs in: `auto` lets the chain decide, `docker` leaves plugged-in members out, `anonymous` takes nothing. */
export type AuthMode = 'auto' | 'entra' | 'docker' | 'anonymous';
export const AUTH_MODES: AuthMode[] = ['auto', 'entra', 'docker', 'anonymous'];

export type Side = 'source' | 'target';

export interface SecretInput {
  username?: string;
  password?: string;
  /** Read the password from standard input (it never shows in process lists or shell history). */
  passwordStdin?: boolean;
}

export const ENV = {
  sourceUsername: 'ACR_IMPORT_SOURCE_USERNAME',
  sourcePassword: 'ACR_IMPORT_SOURCE_PASSWORD',
  targetUsername: 'ACR_IMPORT_TARGET_USERNAME',
  targetPassword: 'ACR_IMPORT_TARGET_PASSWORD',
  sourceRegistry: 'ACR_IMPORT_SOURCE_REGISTRY',
  targetRegistry: 'ACR_IMPORT_TARGET_REGISTRY',
} as const;

/**
 * Environment credentials are bound to a registry, so that a token meant for one never goes to
 * another (a script's Docker Hub token, then an import from mcr.microsoft.com):
 * - `ACR_IMPORT_<SIDE>_REGISTRY` set: the side's variables are used for that registry only;
 * - unset: the target's are used for the target (the one registry --name names); the source's are
 *   not used at all, since the source changes from one command to the next while they stay.
 * Returns the variables to use, and why others were left out (for a warning; never the secret).
 */
export function environmentSecret(side: 'source' | 'target', registry: string, env: NodeJS.ProcessEnv): { username?: string; password?: string; ignored?: string } {
  const names = side === 'source' ? { u: ENV.sourceUsername, p: ENV.sourcePassword, r: ENV.sourceRegistry } : { u: ENV.targetUsername, p: ENV.targetPassword, r: ENV.targetRegistry };
  // Empty values count as not given.
  const username = env[names.u] || undefined;
  const password = env[names.p] || undefined;
  if (!username && !password) return {};
  const bound = env[names.r]?.trim();
  if (bound) {
    if (sameRegistry(bound, registry)) return { username, password };
    return { ignored: `${names.u}/${names.p} are for ${bound} (${names.r}), so they are not sent to ${registry}.` };
  }
  if (side === 'target') return { username, password };
  return { ignored: `${names.u}/${names.p} are set but not bound to a registry, so they are not sent to ${registry}. Set ${names.r}=${registry} to use them for it.` };
}

export async function readStdinSecret(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const value = (await text(stdin)).replace(/\r?\n$/, '');
  if (!value) throw usageError('--password-stdin was given but standard input is empty.');
  return value;
}

/** The username and password given for a side (flags, stdin, environment), without the config files. */
export function explicitSecret(side: 'source' | 'target', registry: string, input: SecretInput, env: NodeJS.ProcessEnv, stdinSecret: string | undefined): { username?: string; password?: string; from: string } {
  const fromEnv = environmentSecret(side, registry, env);
  // Empty values count as not given.
  const username = input.username || fromEnv.username || undefined;
  const password = (input.passwordStdin ? stdinSecret : undefined) || input.password || fromEnv.password || undefined;
  if (username && !password) {
    // az's own words for this mistake.
    throw usageError(
      'Authentication failed. Please provide password.',
      side === 'source' ? 'Give --password, --password-stdin or ACR_IMPORT_SOURCE_PASSWORD with --username.' : 'Give --target-password, --target-password-stdin or ACR_IMPORT_TARGET_PASSWORD with --target-username.',
    );
  }
  return { username, password, from: input.passwordStdin ? 'standard input' : input.password ? 'flags' : 'environment' };
}

/** What a keychain is asked: one side's registry, as users name it ('docker.io'), which is how the docker config keys its entries. */
export interface KeychainQuery {
  side: Side;
  registry: string;
  input: SecretInput;
  env: NodeJS.ProcessEnv;
  /** The password read from standard input, when a --*-password-stdin flag asked for it. */
  stdinSecret?: string;
}

/** A credential and where it came from, for --debug (never the secret). */
export interface Found {
  credential: AuthCredential;
  from: string;
}

/** One place credentials can come from; undefined when it has none for the registry. */
export type Keychain<F extends Found = Found> = (q: KeychainQuery) => Promise<F | undefined>;

const given: Keychain = async (q) => {
  const { username, password, from } = explicitSecret(q.side, q.registry, q.input, q.env, q.stdinSecret);
  return password ? { credential: credentialFromUserPassword(username, password), from } : undefined;
};

const dockerConfig: Keychain = async (q) => {
  const credential = await dockerConfigCredential(q.registry, { env: q.env });
  return credential ? { credential, from: 'docker config' } : undefined;
};

const containersAuth: Keychain = async (q) => {
  const found = await containersAuthCredential(q.registry, { env: q.env });
  return found ? { credential: found.credential, from: found.file } : undefined;
};

/** The chain: flags and environment, docker config, containers auth, then `more` (a provider's), else anonymous. */
export async function resolveCredential<F extends Found = Found>(q: KeychainQuery, more: Keychain<F>[] = []): Promise<Found | F> {
  for (const keychain of [given, dockerConfig, containersAuth, ...more]) {
    const found = await keychain(q);
    if (found) return found;
  }
  return { credential: { kind: 'anonymous' }, from: 'none (anonymous)' };
}

/** A side's sign-in with no provider in the chain: `anonymous` takes nothing; `auto` and `docker` ask the chain. */
export async function keychainSignIn(q: KeychainQuery, mode: Exclude<AuthMode, 'entra'>): Promise<Found> {
  checkAuthMode(q.side, mode);
  if (mode !== 'anonymous') return resolveCredential(q);
  const flag = authModeFlag(q.side);
  if (q.input.username || q.input.password || q.input.passwordStdin) throw usageError(`${flag} anonymous cannot be used with ${q.side} credentials.`);
  return { credential: { kind: 'anonymous' }, from: `none (${flag} anonymous)` };
}

export function authModeFlag(side: Side): string {
  return side === 'source' ? '--source-auth-mode' : '--target-auth-mode';
}

export function checkAuthMode(side: Side, mode: string): void {
  if (!AUTH_MODES.includes(mode as AuthMode)) throw usageError(`${authModeFlag(side)} must be one of ${AUTH_MODES.join(', ')}, not '${mode}'.`);
}
