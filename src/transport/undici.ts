// The parts of undici this tool uses, each from its own module. undici's index also loads fetch,
// WebSocket, EventSource, caches and mocks, which nothing here uses: loading them cost start-up
// time and about 10 MiB of memory in every run. The types are undici's own.
import { setFlagsFromString } from 'node:v8';
import type { Dispatcher as DispatcherType } from 'undici';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import buildConnector from 'undici/lib/core/connect.js';

// undici parses HTTP with llhttp compiled to WebAssembly, at its first connection. V8 compiles it
// with its baseline compiler (Liftoff), then again with its optimising one once the parser is
// hot: a few requests suffice, and that second compile took a quarter of a second of CPU and
// 35 MiB of memory at its peak in every run, for a parser that reads headers and hands each
// body chunk over in one piece. Liftoff code is kept. On these two architectures Liftoff
// compiles all of llhttp; where it could not compile the SIMD build (a CPU without the SIMD
// instructions it needs), undici already falls back to its plain build, which Liftoff always
// compiles. Elsewhere V8 keeps its own choice. `--no-wasm-tier-up` would be the gentler flag, but
// dynamic tiering ignores it (measured: same peak and CPU as no flag).
if (process.arch === 'x64' || process.arch === 'arm64') setFlagsFromString('--liftoff-only');

// What undici's index does on load: dispatchers get request(), connect() and the rest. A proxy
// tunnel needs connect() on its client.
Object.assign(Dispatcher.prototype, api);

export { EnvHttpProxyAgent, buildConnector };

export type RequestOptions = Omit<DispatcherType.RequestOptions, 'origin' | 'path' | 'method'> & { method?: DispatcherType.HttpMethod; dispatcher: DispatcherType };

/** undici's `request(url, options)`, always on the dispatcher given (the index's falls back to a global one). */
export function request(url: string | URL, options: RequestOptions): Promise<DispatcherType.ResponseData> {
  const u = typeof url === 'string' ? new URL(url) : url;
  const { dispatcher, ...rest } = options;
  return dispatcher.request({ ...rest, method: rest.method ?? 'GET', origin: u.origin, path: `${u.pathname}${u.search}` });
}
