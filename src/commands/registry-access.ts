// Registry names → login servers, and each side's sign-in, for the commands. The Azure provider
// (ARM, Entra ID) is loaded and its session made only when a registry needs it: a bare name or a
// resource ID, an ACR login server, --*-auth-mode entra, or --lock. A copy between registries that
// are not ACRs (ghcr.io → 127.0.0.1:5000) signs in through the keychain chain alone and never
// loads @azure/identity.
import { keychainSignIn, type AuthMode, type KeychainQuery, type SecretInput } from '../auth/keychain.js';
import { pingRegistry } from '../auth/ping.js';
import { RegistryClient } from '../content/registry/client.js';
import { RegistryStorage } from '../content/registry/storage.js';
import { isLoopbackHost } from '../oci/reference.js';
import { isAcrLoginServerIn, loginServerFor } from '../providers/azure/cloud.js';
import type { AzureSession, AzureSessionOptions, SignIn } from '../providers/azure/session.js';
import type { Side } from '../side.js';

/** The TLS probe of a loopback registry gives up after this long (the copy then reports what is wrong). */
const PROBE_TIMEOUT_MS = 15_000;

/** A value that is already a login server (not a bare ACR name, not a resource ID). */
function isLoginServer(value: string): boolean {
  const v = value.trim();
  return !/^\/?subscriptions\//i.test(v) && (/[.:]/.test(v) || v.toLowerCase() === 'localhost');
}

export class RegistryAccess {
  private session?: Promise<AzureSession>;

  constructor(private readonly o: AzureSessionOptions) {}

  /** The Azure session of this run, made on first use. */
  azure(): Promise<AzureSession> {
    this.session ??= import('../providers/azure/session.js').then(({ AzureSession }) => new AzureSession(this.o));
    return this.session;
  }

  /** `--name`/`--registry` as a login server; a name or resource ID asks Azure. */
  async loginServer(value: string, flag: string, options: { resourceGroup?: string } = {}): Promise<string> {
    if (isLoginServer(value) && !this.session) return loginServerFor(value, this.o.cloud);
    return (await (await this.azure()).resolveRegistry(value, flag, options)).loginServer;
  }

  /**
   * One side's credential from the keychain chain; Entra ID joins the chain as its last member
   * (through the Azure session) for an ACR, for `entra` mode, or once the session exists (a
   * registry ARM named).
   */
  async signIn(side: Side, registry: string, host: string, input: SecretInput, mode: AuthMode, stdinSecret: string | undefined, needAzure = false): Promise<SignIn> {
    const q: KeychainQuery = { side, registry, input, env: this.o.env, stdinSecret };
    const azure = needAzure || this.session || mode === 'entra' || isAcrLoginServerIn(this.o.cloud, host) ? await this.azure() : undefined;
    return keychainSignIn(q, mode, azure?.entraMember(host));
  }

  /** One side's registry, signed in ({@link signIn}): its client on the run's transport, and the storage over it. */
  async open(side: Side, registry: string, host: string, input: SecretInput, mode: AuthMode, stdinSecret: string | undefined, needAzure = false): Promise<{ signIn: SignIn; client: RegistryClient; storage: RegistryStorage }> {
    const signIn = await this.signIn(side, registry, host, input, mode, stdinSecret, needAzure);
    const client = new RegistryClient(this.o.transport, registry, host, signIn.credential);
    return { signIn, client, storage: new RegistryStorage(client) };
  }

  /**
   * The registry's base URL, for clients that do not find it out themselves (ACR's metadata API):
   * a loopback registry that serves TLS is found out from the `GET /v2/` the registry client
   * shares, so it costs no second request.
   */
  async baseUrl(host: string): Promise<string> {
    const transport = this.o.transport;
    const base = transport.baseUrl(host);
    if (base.startsWith('https://') || !isLoopbackHost(host)) return base;
    const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS);
    const signal = this.o.signal ? AbortSignal.any([this.o.signal, timeout]) : timeout;
    return pingRegistry(transport, base, signal).then(
      (res) => res.baseUrl,
      () => base,
    );
  }
}
