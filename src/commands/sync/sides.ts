// The registries and files a sync reads and writes, each opened once for the whole run: one
// sign-in, one authenticator (and so one token cache) per registry and side, whatever the number
// of entries that use it; one transport (one connection pool per host) under all of them, the
// one the registry access opens clients on.
import type { RegistryClient } from '../../content/registry/client.js';
import { openFileTarget } from '../../content/open.js';
import { parseStorageSpec } from '../../content/transports.js';
import type { ReadOnlyStorage, Storage } from '../../content/storage.js';
import { environmentSecret, type AuthMode } from '../../auth/keychain.js';
import type { Console } from '../../output/console.js';
import type { ImageReference } from '../../oci/reference.js';
import { MeteredSource, type PullBudget } from './rate-limit.js';
import { BlobLedger } from './shared-target.js';
import type { RegistryAccess } from '../registry-access.js';

export interface SourceSide {
  /** Manifest GETs paid from the pull budget. */
  storage: ReadOnlyStorage;
  client: RegistryClient;
}

export interface TargetSide {
  storage: Storage;
  /** How results name it: the login server, or the file as written. */
  name: string;
  ledger: BlobLedger;
  /** A layout or an archive: written once, at the end of the run. */
  file: boolean;
}

export interface SidesOptions {
  /** Names → login servers and sign-ins (Azure only where a registry needs it). */
  registries: RegistryAccess;
  console: Console;
  env: NodeJS.ProcessEnv;
  budget: PullBudget;
  sourceAuthMode: AuthMode;
  targetAuthMode: AuthMode;
}

export class SyncSides {
  private readonly sources = new Map<string, Promise<SourceSide>>();
  private readonly targets = new Map<string, Promise<TargetSide>>();
  private readonly warned = new Set<string>();

  constructor(private readonly o: SidesOptions) {}

  /** The source registry of a reference, signed in once. */
  source(ref: ImageReference): Promise<SourceSide> {
    let side = this.sources.get(ref.registry);
    if (!side) {
      side = (async () => {
        this.warnIgnored('source', ref.registry);
        const { signIn, client, storage: registry } = await this.o.registries.open('source', ref.registry, ref.host, {}, this.o.sourceAuthMode, undefined);
        this.o.console.debug(`source ${ref.registry}: credentials from ${signIn.from}`);
        const storage = new MeteredSource(registry, this.o.budget, new URL(client.baseUrl).host);
        return { storage, client };
      })();
      this.sources.set(ref.registry, side);
    }
    return side;
  }

  /** A target as the sync file names it (-n's forms), resolved and signed in once. */
  target(spec: string): Promise<TargetSide> {
    let side = this.targets.get(spec);
    if (!side) {
      side = (async (): Promise<TargetSide> => {
        const parsed = parseStorageSpec(spec, 'target');
        if (parsed.transport !== 'registry') return { storage: await openFileTarget(parsed), name: spec, ledger: new BlobLedger(), file: true };
        const server = await this.o.registries.loginServer(spec, 'target');
        this.warnIgnored('target', server);
        const { signIn, storage } = await this.o.registries.open('target', server, server, {}, this.o.targetAuthMode, undefined);
        this.o.console.debug(`target ${server}: credentials from ${signIn.from}`);
        return { storage, name: server, ledger: new BlobLedger(), file: false };
      })();
      this.targets.set(spec, side);
    }
    return side;
  }

  /** Makes what was written to layouts and archives visible, then releases everything. */
  async close(commit: boolean, signal?: AbortSignal): Promise<void> {
    const targets = await Promise.allSettled(this.targets.values());
    try {
      if (commit) for (const t of targets) if (t.status === 'fulfilled' && t.value.file) await t.value.storage.commit?.(signal);
    } finally {
      await Promise.all(targets.map((t) => (t.status === 'fulfilled' ? t.value.storage.close?.() : undefined))).catch(() => undefined);
    }
  }

  private warnIgnored(side: 'source' | 'target', registry: string): void {
    const ignored = environmentSecret(side, registry, this.o.env).ignored;
    if (ignored && !this.warned.has(ignored)) {
      this.warned.add(ignored);
      this.o.console.warn(ignored);
    }
  }
}
