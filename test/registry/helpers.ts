// Shared setup for tests that drive the registry client against the harness registries.
import { Readable } from 'node:stream';
import { Transport, type TransportOptions } from '../../src/transport/http.js';
import { RegistryClient } from '../../src/content/registry/client.js';
import type { AuthCredential } from '../../src/auth/authenticator.js';

/** A transport with quick retries, so fault tests take milliseconds, not seconds. */
export function testTransport(options: TransportOptions = {}): Transport {
  return new Transport({ ...options, retry: { baseDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 3000, ...options.retry } });
}

export function clientFor(url: string, credential: AuthCredential = { kind: 'anonymous' }, options: TransportOptions = {}): { client: RegistryClient; transport: Transport } {
  const transport = testTransport(options);
  const host = new URL(url).host;
  return { client: new RegistryClient(transport, host, host, credential), transport };
}

export function bufferSource(bytes: Buffer) {
  return (offset: number) => Readable.from([bytes.subarray(offset)]);
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
