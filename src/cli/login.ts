// `acr-import login` and `logout`: store a registry's user name and password in the docker config
// for runners without docker, the way `docker login` does with no credential store.
import type { Command } from 'commander';
import { removeDockerLogin, storeDockerLogin } from '../auth/docker-config.js';
import { usageError } from '../errors.js';
import type { CommandRunner } from './azure-commands.js';
import { addOutputOptions } from './common-options.js';
import { readStdinSecret } from '../auth/keychain.js';

export function registerLoginCommands(program: Command, run: CommandRunner): void {
  const login = program
    .command('login')
    .description('store a user name and password for a registry in the docker config (auths), as docker login does')
    .argument('<registry>', 'login server: myregistry.azurecr.io, ghcr.io, docker.io, 127.0.0.1:5000')
    .requiredOption('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password or token (visible to other processes: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input');
  addOutputOptions(login).action(async (registry: string, opts: Record<string, unknown>) =>
    run(opts, async (ctx) => {
      if (opts.password && opts.passwordStdin) throw usageError('--password and --password-stdin are mutually exclusive.');
      if (!opts.password && !opts.passwordStdin) throw usageError('Give the password with --password-stdin (or --password).', `printf '%s' "$TOKEN" | acr-import login ${registry} -u ${String(opts.username)} --password-stdin`);
      if (opts.password) ctx.console.warn('a password on the command line shows in process lists and shell history; use --password-stdin.');
      const password = opts.passwordStdin ? await readStdinSecret(ctx.stdin) : String(opts.password);
      const stored = await storeDockerLogin(hostOf(registry), String(opts.username), password, { env: ctx.env });
      if (stored.shadowedBy) ctx.console.warn(`${stored.shadowedBy} answers for ${stored.key} first, so this entry is not used while it is configured.`);
      ctx.console.success(`Stored the login for ${stored.key} in ${stored.file}.`);
    }),
  );

  const logout = program
    .command('logout')
    .description('remove a registry from the docker config (auths)')
    .argument('<registry>', 'login server');
  addOutputOptions(logout).action(async (registry: string, opts: Record<string, unknown>) =>
    run(opts, async (ctx) => {
      const r = await removeDockerLogin(hostOf(registry), { env: ctx.env });
      ctx.console.success(r.removed ? `Removed the login for ${registry} from ${r.file}.` : `${r.file} has no login for ${registry}.`);
    }),
  );
}

/** A login server, not a path or URL: `docker login` takes the host alone too. */
function hostOf(registry: string): string {
  const host = registry.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '');
  if (!host || host.includes('/') || /\s/.test(host)) throw usageError(`'${registry}' is not a registry login server.`, 'Give the host, with a port if it has one: myregistry.azurecr.io, 127.0.0.1:5000.');
  return host;
}
