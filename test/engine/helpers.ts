// Shared setup for the engine tests: clients on the harness registries, and a second origin that
// stands for a blob store or a CDN (it wants no registry credentials).
import { afterAll } from 'vitest';
import { basicAuthHeader, clientFor as harnessClient, faults, pullScope, startProxy, stopAfterAll, type ProvidedAuthRegistry, type RunningProxy, type TargetLike } from '../harness/index.js';
import { clientFor } from '../registry/helpers.js';
import type { AuthCredential } from '../../src/auth/authenticator.js';
import type { TransportOptions } from '../../src/transport/http.js';

const transports: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
});

/** A registry client (quick retries) closed after the file. */
export function engineClient(url: string, credential: AuthCredential = { kind: 'anonymous' }, options: TransportOptions = {}) {
  const c = clientFor(url, credential, options);
  transports.push(c.transport);
  return c;
}

export function basic(registry: ProvidedAuthRegistry): AuthCredential {
  return { kind: 'basic', username: registry.username, password: registry.password };
}

/**
 * Another origin in front of `registry`, like a blob store behind signed URLs: a request that
 * carries Authorization is refused with 400 (as S3 does), others are forwarded with the harness's
 * own credentials. `requests[].requestHeaders.authorization` shows what the client sent.
 */
export async function startForeignOrigin(registry: ProvidedAuthRegistry): Promise<RunningProxy> {
  return stopAfterAll(
    startProxy({
      upstream: registry.url,
      hook: (r) => {
        if (r.headers.authorization) return faults.status(400, { body: '<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>' });
        r.headers.authorization = basicAuthHeader(registry.username, registry.password);
        return undefined;
      },
    }),
  );
}

/** Requests of a proxy that carried an Authorization header. */
export function withAuthorization(proxy: RunningProxy) {
  return proxy.requests.filter((q) => q.requestHeaders.authorization !== undefined).map((q) => `${q.method} ${q.path}`);
}

/** A blob's bytes as the registry holds them (read with the harness's own client). */
export async function storedBlob(registry: TargetLike, repo: string, digest: string): Promise<Buffer | undefined> {
  const res = await harnessClient(registry).request('GET', `/v2/${repo}/blobs/${digest}`, { scopes: [pullScope(repo)] });
  if (res.status !== 200) {
    await res.body.dump();
    return undefined;
  }
  return Buffer.from(await res.body.arrayBuffer());
}
