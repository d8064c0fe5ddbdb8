// Registry names → login servers, and each side's sign-in, for the commands. The Azure provider
// (ARM, Entra ID) is loaded and its session made only when a registry needs it: a bare name or a
// resource ID, an ACR login server, --*-auth-mode entra, or --lock. A copy between registries that
// are not ACRs (ghcr.io → 127.0.0.1:5000) signs in through the keychain chain alone and never
// loads @azure/identity.
import { keychainSignIn, type AuthMode, type KeychainQuery, type SecretInput, type Side } from '../auth/keychain.js';
import { isAcrLoginServerIn, loginServerFor } from '../providers/azure/cloud.js';
import type { AzureSession, AzureSessionOptions, SignIn } from '../providers/azure/session.js';

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

  /** Whether the Azure provider was needed (tests read it). */
  get azureLoaded(): boolean {
    return this.session !== undefined;
  }

  /** `--name`/`--registry` as a login server; a name or resource ID asks Azure. */
  async loginServer(value: string, flag: string, options: { resourceGroup?: string } = {}): Promise<string> {
    if (isLoginServer(value) && !this.session) return loginServerFor(value, this.o.cloud);
    return (await (await this.azure()).resolveRegistry(value, flag, options)).loginServer;
  }

  /**
   * One side's credential from the keychain chain; Entra ID joins the chain (through the Azure
   * session) for an ACR, for `entra` mode, or once the session exists (a registry ARM named).
   */
  async signIn(side: Side, registry: string, host: string, input: SecretInput, mode: AuthMode, stdinSecret: string | undefined, needAzure = false): Promise<SignIn> {
    if (needAzure || this.session || mode === 'entra' || isAcrLoginServerIn(this.o.cloud, host)) {
      return (await this.azure()).signIn(side, registry, host, input, mode, stdinSecret);
    }
    const q: KeychainQuery = { side, registry, input, env: this.o.env, stdinSecret };
    return { ...(await keychainSignIn(q, mode as Exclude<AuthMode, 'entra'>)), acr: false };
  }
}
