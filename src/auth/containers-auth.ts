// Credentials from the containers tools' auth.json (skopeo, podman, buildah), read after the docker
// config: `$REGISTRY_AUTH_FILE` when set, else `$XDG_RUNTIME_DIR/containers/auth.json`, then
// `~/.config/containers/auth.json`. The format is the docker config's, so the reader is shared.
import { homedir as osHomedir } from 'node:os';
import { join } from 'node:path';
import { configFileCredential, type ConfigFile, type Credential, type DockerConfigOptions } from './docker-config.js';

const LABEL = 'the containers auth file';

/** The files to read, in order. */
export function containersAuthFiles(env: NodeJS.ProcessEnv, homedir = osHomedir()): ConfigFile[] {
  if (env.REGISTRY_AUTH_FILE) return [{ path: env.REGISTRY_AUTH_FILE, label: LABEL, variable: 'REGISTRY_AUTH_FILE' }];
  const files: ConfigFile[] = [];
  if (env.XDG_RUNTIME_DIR) files.push({ path: join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), label: LABEL, variable: 'REGISTRY_AUTH_FILE' });
  files.push({ path: join(env.XDG_CONFIG_HOME || join(homedir, '.config'), 'containers', 'auth.json'), label: LABEL, variable: 'REGISTRY_AUTH_FILE' });
  return files;
}

/** The first credential for `registry` in those files, and the file it came from. */
export async function containersAuthCredential(registry: string, options: DockerConfigOptions = {}): Promise<{ credential: Credential; file: string } | undefined> {
  for (const file of containersAuthFiles(options.env ?? process.env, options.homedir)) {
    const credential = await configFileCredential(file, registry, options);
    if (credential) return { credential, file: file.path };
  }
  return undefined;
}
