/**
 * A corporate forward proxy that refuses to tunnel: CONNECT answered 407 (it wants proxy
 * credentials) or 403 (policy forbids the host). Every CONNECT is recorded with its target and
 * any Proxy-Authorization, so a test can tell a registry credential never went to the proxy.
 */
import * as http from 'node:http';
import { listen } from '../util.js';

export interface ConnectRecord {
  target: string;
  proxyAuthorization?: string;
  status: number;
}

export interface RunningForwardProxy {
  /** "http://127.0.0.1:PORT", for HTTPS_PROXY. */
  url: string;
  readonly connects: ConnectRecord[];
  stop(): Promise<void>;
}

export async function startRefusingProxy(status: 407 | 403): Promise<RunningForwardProxy> {
  const connects: ConnectRecord[] = [];
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, socket) => {
    connects.push({ target: req.url ?? '', proxyAuthorization: req.headers['proxy-authorization'], status });
    const extra = status === 407 ? 'Proxy-Authenticate: Basic realm="corporate proxy"\r\n' : '';
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`);
  });
  const l = await listen(server);
  return { url: `http://${l.host}`, connects, stop: () => l.close() };
}
