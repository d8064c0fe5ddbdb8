// Where each side's credentials come from, first match wins: flags, stdin, environment variables
// (bound to a registry), the docker config (credential helpers included), the containers auth.json
// (skopeo, podman), then anonymous.
import { text } from 'node:stream/consumers';
import { usageError } from '../errors.js';
import { containersAuthCredential } from './containers-auth.js';
import { credentialFromUserPassword, dockerConfigCredential, sameRegistry, type Credential } from './docker-config.js';

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

/**
 * The credential for one side. `registry` is as users name it ('docker.io'), which is how the
 * docker config keys its entries. Returns how it was found, for --debug (never the secret).
 */
export async function resolveCredential(
  side: 'source' | 'target',
  registry: string,
  input: SecretInput,
  env: NodeJS.ProcessEnv,
  stdinSecret: string | undefined,
): Promise<{ credential: Credential; from: string }> {
  const { username, password, from } = explicitSecret(side, registry, input, env, stdinSecret);
  if (password) return { credential: credentialFromUserPassword(username, password), from };
  const fromConfig = await dockerConfigCredential(registry, { env });
  if (fromConfig) return { credential: fromConfig, from: 'docker config' };
  const fromContainers = await containersAuthCredential(registry, { env });
  if (fromContainers) return { credential: fromContainers.credential, from: fromContainers.file };
  return { credential: { kind: 'anonymous' }, from: 'none (anonymous)' };
}
