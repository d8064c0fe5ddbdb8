/**
 * Types of what test/harness/global-setup.ts provides; read them in tests with
 * `inject('openRegistry')` etc. Every registry entry has `url`, and where
 * relevant `username`/`password`/`ca`, so it can be passed straight to
 * pushImage() / HarnessClient as a RegistryTarget.
 */
import 'vitest';

export interface ProvidedRegistry {
  /** "http://127.0.0.1:PORT" (https for the TLS registry). */
  url: string;
  /** "127.0.0.1:PORT" */
  host: string;
}

export interface ProvidedAuthRegistry extends ProvidedRegistry {
  username: string;
  password: string;
}

export interface ProvidedTokenRegistry extends ProvidedAuthRegistry {
  /** Token service realm, e.g. "http://127.0.0.1:PORT/token". */
  realm: string;
  /** Token `service` / audience: the registry's host. */
  service: string;
  /** Base URL of the token service. */
  tokenServiceUrl: string;
}

export interface ProvidedAcrOrigin extends ProvidedAuthRegistry {
  /** "http://127.0.0.1:PORT/oauth2/token" */
  realm: string;
  /** = host (ACR's login server is its service). */
  service: string;
  /** An "Entra" access token POST /oauth2/exchange accepts. */
  entraToken: string;
  /** A refresh token accepted as-is (null-GUID / --expose-token flow). */
  refreshToken: string;
  /** "00000000-0000-0000-0000-000000000000" */
  nullGuid: string;
}

export interface ProvidedTlsRegistry extends ProvidedRegistry {
  /** PEM file of the CA that signed the registry certificate. */
  caPath: string;
  /** Same CA as PEM text (undici `connect: { ca }`). */
  ca: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Anonymous, open registry. */
    openRegistry: ProvidedRegistry;
    /** htpasswd Basic auth (testuser/testpass). */
    htpasswdRegistry: ProvidedAuthRegistry;
    /** Token auth via the harness token service (anonymous pull, testuser pull+push). */
    tokenRegistry: ProvidedTokenRegistry;
    /** ACR-like origin (one port: /v2 proxy + /oauth2/exchange + /oauth2/token). */
    acrOrigin: ProvidedAcrOrigin;
    /** Open registry on https with a harness CA. */
    tlsRegistry: ProvidedTlsRegistry;
    /** Foreign-layer host for `LayerSpec.foreign.serverUrl`. */
    foreignLayerServer: ProvidedRegistry;
    /** CA PEM path of the TLS registry (for NODE_EXTRA_CA_CERTS in child processes). */
    harnessCaPath: string;
  }
}
