/**
 * Public API of the real-registry test harness.
 *
 * Shared servers come from global-setup.ts through `inject()` (see
 * context.d.ts for the keys); tests that need a private or modified instance
 * start one with the start* functions and stop it (stopAfterAll does that).
 */

// Real Distribution 2.8 registries (anonymous / htpasswd / token / TLS / relativeurls).
export { startRegistry, findRegistryBinary, TEST_USERNAME, TEST_PASSWORD } from './registry.js';
export type { StartRegistryOptions, RunningRegistry, RegistryAuth } from './registry.js';

// Docker token service + a registry wired to it.
export { startTokenService, startTokenRegistry, defaultPolicy, scopesFrom } from './token-service.js';
export type { TokenServiceOptions, RunningTokenService, RunningTokenRegistry, TokenRequestRecord, GrantPolicy, Identity, CredentialKind } from './token-service.js';

// ACR-like origin: one port serving /v2 (proxied) and /oauth2/{exchange,token}.
export { startAcrOrigin, ACR_NULL_GUID } from './acr-origin.js';
export type { AcrOriginOptions, RunningAcrOrigin, AcrTokenRequestRecord, AcrCredentialKind } from './acr-origin.js';

// Recording / fault-injecting proxy and the blob CDN for redirect tests.
export { startProxy, startBlobCdn, faults, failFirst, classifyPath } from './proxy.js';
export type { Fault, FaultHook, ProxyRequestInfo, RecordedRequest, RunningProxy, StartProxyOptions, RunningBlobCdn, CdnRequestRecord, RequestKind } from './proxy.js';

// Foreign (non-distributable) layer host; bytes are derived from the URL so any process can describe them.
export { startForeignLayerServer, fetchForeignRequests, foreignLayerUrl } from './foreign-layer-server.js';
export type { RunningForeignLayerServer, ForeignRequestRecord } from './foreign-layer-server.js';

// Fixture builder (independent of src/).
export {
  pushImage,
  putBlob,
  putStreamedLayer,
  putRawManifest,
  getManifest,
  blobSize,
  clientFor,
  generatePlatforms,
  platformString,
  MediaTypes,
  EMPTY_JSON,
  EMPTY_DESCRIPTOR,
  STREAM_THRESHOLD,
} from './fixtures.js';
export type {
  FixtureSpec,
  ImageSpec,
  IndexSpec,
  HelmSpec,
  ArtifactSpec,
  LayerSpec,
  Platform,
  Descriptor,
  Flavor,
  PushResult,
  PushedManifest,
  PushedBlob,
  RawManifestResult,
  TargetLike,
} from './fixtures.js';

// Minimal registry client with Basic/Bearer challenge handling (what fixtures use).
export { HarnessClient, parseChallenge, pullScope, pushScope, header } from './client.js';
export type { RegistryTarget, Challenge, ClientResponse, RequestOptions } from './client.js';

// Deterministic content.
export { sha256, seededBytes, seededStream, makeLayer, streamLayer, tarFiles } from './blobgen.js';

// Tokens and PKI, for tests that mint or inspect tokens themselves.
export { TokenIssuer, decodeJwt, parseScopes } from './jwt.js';
export type { AccessEntry, TokenClaims } from './jwt.js';
export { createTestCA, issueServerCert, createSigningCert } from './pki.js';
export type { TestCA, IssuedCert } from './pki.js';

// Registry personalities: how well-known registries behave, in front of the real one.
export { startPersonality, PROFILES, HopLog, describeHops, startRefusingProxy } from './personalities/index.js';
export type { Personality, ProfileName, Profile, Behaviours, FrontDoor, FrontDoorOptions, Hop, OriginRole, Script, Scripted, RequestInfo, RunningForwardProxy, ConnectRecord } from './personalities/index.js';

export { uniqueRepo } from './repo.js';
export { stopAfterAll } from './lifecycle.js';
export { getFreePort, LOOPBACK, run, basicAuthHeader } from './util.js';
export type { ProvidedRegistry, ProvidedAuthRegistry, ProvidedTokenRegistry, ProvidedAcrOrigin, ProvidedTlsRegistry } from './context.js';
