// Everything Azure for one run: the cloud, one Entra ID token cache shared by every registry and
// ARM call, registry names and resource IDs resolved to login servers, and each side's sign-in
// (Entra ID for ACR, or the plain credentials). Loads no Azure SDK until a token is needed.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AcrImportError, usageError } from '../../errors.js';
import { pingRegistry } from '../../auth/ping.js';
import { ACR_REFRESH_TOKEN_USER } from '../../auth/docker-config.js';
import { authModeFlag, checkAuthMode, explicitSecret, keychainSignIn, resolveCredential, type AuthMode, type Found, type KeychainQuery, type SecretInput, type Side } from '../../auth/keychain.js';
import type { Logger } from '../../logger.js';
import { isLoopbackHost } from '../../oci/reference.js';
import type { Transport } from '../../transport/http.js';
import { AcrExchangeSource, cachedEntraProvider, fixedEntraProvider } from './acr-exchange.js';
import { ArmClient, looksLikeResourceId, parseRegistryResourceId, registryResourceId, type ArmRegistry } from './arm.js';
import { armEndpointFor, isAcrLoginServerIn, loginServerFor, type AzureCloud } from './cloud.js';
import { EntraTokens, entraEvidentlyConfigured, staticTokenCredential, type TokenCredentialLike } from './entra.js';

/** Seconds a bare-name lookup in ARM may take before falling back to `<name><suffix>`. */
export const ARM_LOOKUP_TIMEOUT_ENV = 'ACR_IMPORT_ARM_LOOKUP_TIMEOUT';
const DEFAULT_LOOKUP_TIMEOUT_S = 10;
/** The TLS probe of a loopback registry gives up after this long (the copy then reports what is wrong). */
const PROBE_TIMEOUT_MS = 15_000;

export interface SignIn extends Found {
  /** The registry is an ACR: by the cloud's login-server suffix, resolved through ARM, or a forced entra mode. */
  acr: boolean;
  /** For Azure SDK clients on this registry, when the sign-in is Entra ID. */
  tokenCredential?: TokenCredentialLike;
}

export interface ResolvedRegistry {
  loginServer: string;
  /** The ARM resource, when it was read or found. */
  resource?: ArmRegistry;
  /** The ARM resource ID, when known. */
  resourceId?: string;
}

export interface AzureSessionOptions {
  transport: Transport;
  env: NodeJS.ProcessEnv;
  console: Logger;
  cloud: AzureCloud;
  /** `--subscription`. */
  subscription?: string;
  signal?: AbortSignal;
}

export class AzureSession {
  readonly transport: Transport;
  readonly env: NodeJS.ProcessEnv;
  readonly console: Logger;
  readonly cloud: AzureCloud;
  readonly signal?: AbortSignal;
  private entraTokens?: EntraTokens;
  private armClient?: ArmClient;
  private subscriptionPromise?: Promise<{ id: string; from: string } | undefined>;
  private readonly resolved = new Map<string, Promise<ResolvedRegistry>>();
  private readonly registryLists = new Map<string, Promise<ArmRegistry[]>>();
  private readonly probes = new Map<string, Promise<string>>();

  constructor(private readonly options: AzureSessionOptions) {
    this.transport = options.transport;
    this.env = options.env;
    this.console = options.console;
    this.cloud = options.cloud;
    this.signal = options.signal;
  }

  /** The Entra ID token cache of this run (DefaultAzureCredential unless one was supplied). */
  get entra(): EntraTokens {
    this.entraTokens ??= EntraTokens.fromEnvironment(this.cloud, this.env);
    return this.entraTokens;
  }

  get armEndpoint(): string {
    return armEndpointFor(this.cloud, this.env);
  }

  get arm(): ArmClient {
    this.armClient ??= new ArmClient(
      this.transport,
      this.armEndpoint,
      async () => (await this.entra.getToken(this.cloud.armScope, { signal: this.signal, what: 'Azure Resource Manager' })).token,
      this.signal,
    );
    return this.armClient;
  }

  /** `--subscription`, `AZURE_SUBSCRIPTION_ID`, or the Azure CLI's default subscription. */
  subscription(): Promise<{ id: string; from: string } | undefined> {
    this.subscriptionPromise ??= (async () => {
      const flag = this.options.subscription?.trim();
      if (flag) return { id: flag, from: '--subscription' };
      const env = this.env.AZURE_SUBSCRIPTION_ID?.trim();
      if (env) return { id: env, from: 'AZURE_SUBSCRIPTION_ID' };
      const az = await azCliDefaultSubscription(this.env, this.cloud).catch(() => undefined);
      return az ? { id: az, from: 'the Azure CLI default subscription' } : undefined;
    })();
    return this.subscriptionPromise;
  }

  // --- registries --------------------------------------------------------------------------------

  /** The registries of a subscription (read once per run). */
  registriesIn(subscription: string, signal?: AbortSignal): Promise<ArmRegistry[]> {
    let p = this.registryLists.get(subscription);
    if (!p) {
      p = this.arm.listRegistries(subscription, signal);
      this.registryLists.set(subscription, p);
      p.catch(() => this.registryLists.delete(subscription));
    }
    return p;
  }

  /**
   * `--name`/`--registry` as a login server: a resource ID is read from ARM; a bare name with its
   * resource group (`-g`) too; a bare name alone is looked up in the subscription when ARM can be
   * asked quickly, else taken as `<name><suffix>` with a warning; a login server is used as it is.
   */
  resolveRegistry(value: string, flag: string, options: { resourceGroup?: string } = {}): Promise<ResolvedRegistry> {
    const resourceGroup = options.resourceGroup?.trim() || undefined;
    const key = `${value.trim().toLowerCase()}\n${resourceGroup?.toLowerCase() ?? ''}`;
    let p = this.resolved.get(key);
    if (!p) {
      p = this.doResolve(value.trim(), flag, resourceGroup);
      this.resolved.set(key, p);
    }
    return p;
  }

  private async doResolve(value: string, flag: string, resourceGroup: string | undefined): Promise<ResolvedRegistry> {
    if (looksLikeResourceId(value)) {
      const id = parseRegistryResourceId(value);
      if (!id) {
        throw usageError(`${flag} '${value}' is not a container registry resource ID.`, 'A resource ID reads /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>.');
      }
      return this.readRegistry(id.id, flag);
    }
    const loginServer = loginServerFor(value, this.cloud);
    const bare = !/[.:]/.test(value) && value.toLowerCase() !== 'localhost';
    if (!bare) return { loginServer };
    if (resourceGroup) {
      // -g says where the registry is: read it (a domain-name-label scope hashes its login server).
      const sub = await this.subscription();
      if (sub) return this.readRegistry(registryResourceId(sub.id, resourceGroup, value.toLowerCase()), flag);
    }
    const found = await this.lookUpByName(value, flag, loginServer);
    return found ?? { loginServer };
  }

  /** A registry resource from ARM, for its login server. */
  private async readRegistry(id: string, flag: string): Promise<ResolvedRegistry> {
    const resource = await this.arm.getRegistry(id);
    const loginServer = resource.properties?.loginServer;
    if (!loginServer) throw new AcrImportError('integrity', `ARM returned registry ${id} without properties.loginServer.`);
    this.console.debug(`${flag}: ${id} has login server ${loginServer}`);
    return { loginServer: loginServer.toLowerCase(), resource, resourceId: resource.id ?? id };
  }

  /** A bare registry name in ARM (bounded by a short timeout); undefined after a warning when not found. */
  private async lookUpByName(name: string, flag: string, fallback: string): Promise<ResolvedRegistry | undefined> {
    const sub = await this.subscription();
    const evident = entraEvidentlyConfigured(this.env);
    const assumed = `Registry name '${name}' is taken as ${fallback}`;
    if (!sub && !evident) {
      this.console.warn(`${assumed} without asking Azure (no subscription: --subscription or AZURE_SUBSCRIPTION_ID). A registry with a domain-name-label scope has another login server: then give it to ${flag}.`);
      return undefined;
    }
    const seconds = Number(this.env[ARM_LOOKUP_TIMEOUT_ENV] ?? DEFAULT_LOOKUP_TIMEOUT_S);
    const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_LOOKUP_TIMEOUT_S * 1000;
    const timeout = AbortSignal.timeout(ms);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
    const lookup = async (): Promise<ArmRegistry | undefined> => {
      const subs = sub ? [sub.id] : await this.arm.listSubscriptions(signal);
      for (const s of subs.slice(0, 50)) {
        const registries = await this.registriesIn(s, signal);
        const hit = registries.find((r) => r.name?.toLowerCase() === name.toLowerCase());
        if (hit) return hit;
      }
      return undefined;
    };
    let found: ArmRegistry | undefined;
    try {
      found = await raceAbort(lookup(), signal);
    } catch (err) {
      if (this.signal?.aborted) throw err;
      const why = timeout.aborted ? `no answer in ${ms / 1000} s` : firstLine(err);
      this.console.warn(`${assumed}: looking it up in Azure failed (${why}).`);
      return undefined;
    }
    const where = sub ? `subscription ${sub.id}` : 'any subscription the identity can see';
    if (!found) {
      this.console.warn(`${assumed}: there is no registry '${name}' in ${where}.`);
      return undefined;
    }
    const loginServer = found.properties?.loginServer?.toLowerCase() ?? fallback;
    this.console.debug(`${flag} '${name}' is ${found.id} with login server ${loginServer} (from ${sub?.from ?? 'a subscription listing'})`);
    return { loginServer, resource: found, resourceId: found.id };
  }

  // --- sign-in -----------------------------------------------------------------------------------

  /**
   * True when Entra ID may sign in to the registry in `auto` mode: its host has the chosen cloud's
   * ACR suffix, or ARM gave it as a registry's login server. Never because of what its challenge
   * says: any server can answer like ACR, and would then receive an Entra ID token good for every
   * registry the identity can reach.
   */
  async isAcr(host: string): Promise<boolean> {
    return isAcrLoginServerIn(this.cloud, host) || (await this.resolvedThroughArm(host));
  }

  /** A login server that ARM named (from a resource ID, or a bare name found in a subscription). */
  private async resolvedThroughArm(host: string): Promise<boolean> {
    const h = host.toLowerCase();
    for (const p of this.resolved.values()) {
      const r = await p.catch(() => undefined);
      if (r?.resource && r.loginServer === h) return true;
    }
    return false;
  }

  /** The registry's base URL, with a loopback registry that serves TLS found out (as the registry client does). */
  async baseUrl(host: string): Promise<string> {
    const base = this.transport.baseUrl(host);
    if (base.startsWith('https://') || !isLoopbackHost(host)) return base;
    let p = this.probes.get(base);
    if (!p) {
      const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS);
      const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
      // The same answer the registry client's authenticator uses: no second request.
      p = pingRegistry(this.transport, base, signal).then(
        (res) => res.baseUrl,
        () => base,
      );
      this.probes.set(base, p);
    }
    return p;
  }

  /**
   * One side's credential.
   * - `auto`: the keychain chain (auth/keychain.ts: flags, stdin, environment, docker config,
   *   containers auth), with Entra ID as its last member for an ACR (see isAcr). A
   *   password without a username is, for an ACR, an Entra ID access token to exchange. An ACR
   *   source with no credentials given falls back to anonymous pull when Entra ID does not get in.
   * - `entra`: always Entra ID (DefaultAzureCredential, or a password-only access token).
   * - `docker`: the keychain chain without Entra ID.
   * - `anonymous`: no credentials at all.
   */
  async signIn(side: Side, registry: string, host: string, input: SecretInput, mode: AuthMode = 'auto', stdinSecret?: string): Promise<SignIn> {
    checkAuthMode(side, mode);
    const q: KeychainQuery = { side, registry, input, env: this.env, stdinSecret };
    if (mode === 'anonymous' || mode === 'docker') return { ...(await keychainSignIn(q, mode)), acr: await this.isAcr(host) };
    if (mode === 'entra') {
      const explicit = explicitSecret(side, registry, input, this.env, stdinSecret);
      if (explicit.username && explicit.username !== ACR_REFRESH_TOKEN_USER) {
        throw usageError(`${authModeFlag(side)} entra signs in with Entra ID; a username (${explicit.username}) does not go with it.`, 'Give only a password (an Entra ID access token), or use another auth mode for a username and password.');
      }
      if (explicit.username === ACR_REFRESH_TOKEN_USER && explicit.password) {
        return { credential: { kind: 'refresh-token', token: explicit.password }, from: `${explicit.from} (ACR refresh token)`, acr: true };
      }
      if (explicit.password) return this.fixedTokenSignIn(explicit.password, explicit.from);
      return this.entraSignIn();
    }
    // auto: a registry that is not an ACR gets what was given for it, or nothing; an ACR's chain
    // ends with Entra ID (for a source, else anonymous pull).
    if (!(await this.isAcr(host))) return { ...(await resolveCredential(q)), acr: false };
    const entra = async () => (side === 'target' ? this.entraSignIn() : this.entraSignIn((line) => this.console.debug(line)));
    const r = await resolveCredential<SignIn>(q, [entra]);
    if (r.credential.kind === 'access-token') return this.fixedTokenSignIn(r.credential.token, r.from);
    return { acr: true, ...r };
  }

  /** `orAnonymous`: for a source, what to say when Entra ID does not get in and anonymous pull is tried. */
  private entraSignIn(orAnonymous?: (tried: string) => void): SignIn {
    const source = new AcrExchangeSource(this.transport, cachedEntraProvider(this.entra, this.cloud.acrScope, this.cloud.armScope), { signal: this.signal, debug: (l) => this.console.debug(l) });
    const from = orAnonymous ? `${this.entra.description}, else anonymous pull` : this.entra.description;
    return { credential: { kind: 'exchange', source, orAnonymous }, from, acr: true, tokenCredential: this.entra.asTokenCredential() };
  }

  private fixedTokenSignIn(token: string, from: string): SignIn {
    const source = new AcrExchangeSource(this.transport, fixedEntraProvider(token), { signal: this.signal, debug: (l) => this.console.debug(l) });
    return { credential: { kind: 'exchange', source }, from: `${from} (an Entra ID access token, exchanged)`, acr: true, tokenCredential: staticTokenCredential(token) };
  }
}

/** The default subscription of `az login` (azureProfile.json), for the chosen cloud. */
export async function azCliDefaultSubscription(env: NodeJS.ProcessEnv, cloud: AzureCloud): Promise<string | undefined> {
  const dir = env.AZURE_CONFIG_DIR || join(homedir(), '.azure');
  const text = await readFile(join(dir, 'azureProfile.json'), 'utf8');
  const profile = JSON.parse(text.replace(/^\uFEFF/, '')) as { subscriptions?: { id?: string; isDefault?: boolean; state?: string; environmentName?: string; cloudName?: string }[] };
  const subs = profile.subscriptions ?? [];
  const hit = subs.find((s) => s.isDefault && (!s.environmentName || s.environmentName.toLowerCase() === cloud.name.toLowerCase()));
  return hit?.id || undefined;
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);
}
