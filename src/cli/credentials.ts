// Where each side's credentials come from, first match wins: flags, stdin, environment variables,
// then the docker config (credential helpers included), then anonymous.
import { text } from 'node:stream/consumers';
import { usageError } from '../errors.js';
import { credentialFromUserPassword, dockerConfigCredential, type Credential } from '../auth/docker-config.js';

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
} as const;

export async function readStdinSecret(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const value = (await text(stdin)).replace(/\r?\n$/, '');
  if (!value) throw usageError('--password-stdin was given but standard input is empty.');
  return value;
}

/** The username and password given for a side (flags, stdin, environment), without the docker config. */
export function explicitSecret(side: 'source' | 'target', input: SecretInput, env: NodeJS.ProcessEnv, stdinSecret: string | undefined): { username?: string; password?: string; from: string } {
  // Empty values count as not given.
  const username = input.username || env[side === 'source' ? ENV.sourceUsername : ENV.targetUsername] || undefined;
  const password = (input.passwordStdin ? stdinSecret : undefined) || input.password || env[side === 'source' ? ENV.sourcePassword : ENV.targetPassword] || undefined;
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
  const { username, password, from } = explicitSecret(side, input, env, stdinSecret);
  if (password) return { credential: credentialFromUserPassword(username, password), from };
  const fromConfig = await dockerConfigCredential(registry, { env });
  if (fromConfig) return { credential: fromConfig, from: 'docker config' };
  return { credential: { kind: 'anonymous' }, from: 'none (anonymous)' };
}
