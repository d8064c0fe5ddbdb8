/**
 * A loopback fake of the Azure Resource Manager endpoints acr-import calls:
 *   GET  {registry id}?api-version=…                       one registry (404 ResourceNotFound otherwise)
 *   GET  /subscriptions/{sub}/providers/Microsoft.ContainerRegistry/registries   paged by nextLink
 *   GET  /subscriptions?api-version=…                      subscriptions
 *   POST {registry id}/importImage?api-version=…           200, or 202 + Azure-AsyncOperation/Location
 *   GET  /operations/{n}                                   the long-running operation
 * Every request needs `Authorization: Bearer <token>` with a token the fake was given.
 */
import * as http from 'node:http';
import { listen, readBody, sendJson } from '../harness/util.js';

export interface FakeRegistry {
  subscription: string;
  resourceGroup: string;
  name: string;
  loginServer: string;
}

export type ImportBehaviour =
  | { kind: 'sync' }
  | {
      kind: 'async' | 'location';
      /** Polls answered "in progress" before the final answer. */
      polls: number;
      /** Retry-After seconds on the 202 and on every in-progress answer (none when undefined). */
      retryAfter?: number;
      failure?: { code: string; message: string };
    }
  | { kind: 'error'; status: number; code: string; message: string };

export interface ArmRecord {
  time: number;
  method: string;
  path: string;
  authorized: boolean;
  body?: unknown;
}

export interface RunningFakeArm {
  url: string;
  requests: ArmRecord[];
  imports: { registryId: string; body: unknown }[];
  setImportBehaviour(b: ImportBehaviour): void;
  acceptToken(token: string): void;
  stop(): Promise<void>;
}

export const registryId = (r: FakeRegistry) =>
  `/subscriptions/${r.subscription}/resourceGroups/${r.resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${r.name}`;

export async function startFakeArm(opts: { registries: FakeRegistry[]; tokens: string[]; pageSize?: number; subscriptions?: string[]; delayMs?: number }): Promise<RunningFakeArm> {
  const tokens = new Set(opts.tokens);
  const requests: ArmRecord[] = [];
  const imports: { registryId: string; body: unknown }[] = [];
  let behaviour: ImportBehaviour = { kind: 'async', polls: 2, retryAfter: 0 };
  const operations = new Map<number, { behaviour: ImportBehaviour; polls: number }>();
  let nextOp = 1;
  const pageSize = opts.pageSize ?? 2;
  const server = http.createServer();
  const l = await listen(server);
  const base = `http://${l.host}`;

  const resource = (r: FakeRegistry) => ({
    id: registryId(r),
    name: r.name,
    type: 'Microsoft.ContainerRegistry/registries',
    location: 'westeurope',
    sku: { name: 'Premium', tier: 'Premium' },
    properties: { loginServer: r.loginServer, provisioningState: 'Succeeded', adminUserEnabled: false },
  });

  server.on('request', (req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', base);
      const raw = (await readBody(req)).toString('utf8');
      const rec: ArmRecord = { time: Date.now(), method: req.method ?? 'GET', path: `${u.pathname}${u.search}`, authorized: false };
      if (raw) {
        try {
          rec.body = JSON.parse(raw);
        } catch {
          rec.body = raw;
        }
      }
      requests.push(rec);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      rec.authorized = Boolean(m && tokens.has(m[1]!));
      if (!rec.authorized) return sendJson(res, 401, { error: { code: 'AuthenticationFailed', message: 'Authentication failed. The Authorization header is missing or invalid.' } });
      const path = u.pathname;

      if (req.method === 'GET' && path === '/subscriptions') {
        return sendJson(res, 200, { value: (opts.subscriptions ?? [...new Set(opts.registries.map((r) => r.subscription))]).map((s) => ({ subscriptionId: s, state: 'Enabled' })) });
      }
      let mm = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries$/i.exec(path);
      if (req.method === 'GET' && mm) {
        const all = opts.registries.filter((r) => r.subscription === mm![1]);
        const skip = Number(u.searchParams.get('$skiptoken') ?? 0);
        const page = all.slice(skip, skip + pageSize);
        const body: Record<string, unknown> = { value: page.map(resource) };
        if (skip + pageSize < all.length) body.nextLink = `${base}${path}?api-version=${u.searchParams.get('api-version')}&$skiptoken=${skip + pageSize}`;
        return sendJson(res, 200, body);
      }
      mm = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+)(\/importImage)?$/i.exec(path);
      if (mm) {
        const reg = opts.registries.find((r) => registryId(r).toLowerCase() === mm![1]!.toLowerCase());
        if (!reg) return sendJson(res, 404, { error: { code: 'ResourceNotFound', message: `The Resource 'Microsoft.ContainerRegistry/registries/${mm[1]!.split('/').pop()}' was not found.` } });
        if (req.method === 'GET' && !mm[2]) return sendJson(res, 200, resource(reg));
        if (req.method === 'POST' && mm[2]) {
          if (u.searchParams.get('api-version') !== '2025-04-01') return sendJson(res, 400, { error: { code: 'InvalidApiVersionParameter', message: 'bad api-version' } });
          imports.push({ registryId: registryId(reg), body: rec.body });
          const b = behaviour;
          if (b.kind === 'sync') {
            res.writeHead(200, { 'content-length': '0' });
            return res.end();
          }
          if (b.kind === 'error') return sendJson(res, b.status, { error: { code: b.code, message: b.message } });
          const id = nextOp++;
          operations.set(id, { behaviour: b, polls: 0 });
          const headers: Record<string, string> = { 'content-length': '0' };
          const opUrl = `${base}/operations/${id}?api-version=2025-04-01`;
          if (b.kind === 'async') {
            headers['azure-asyncoperation'] = opUrl;
            headers.location = `${base}/operations/${id}?api-version=2025-04-01&location=1`;
          } else headers.location = opUrl;
          if (b.retryAfter !== undefined) headers['retry-after'] = String(b.retryAfter);
          res.writeHead(202, headers);
          return res.end();
        }
      }
      mm = /^\/operations\/(\d+)$/.exec(path);
      if (req.method === 'GET' && mm) {
        const op = operations.get(Number(mm[1]));
        if (!op || op.behaviour.kind === 'sync' || op.behaviour.kind === 'error') return sendJson(res, 404, { error: { code: 'NotFound', message: 'no such operation' } });
        const b = op.behaviour;
        op.polls++;
        const extra: Record<string, string> = b.retryAfter !== undefined ? { 'retry-after': String(b.retryAfter) } : {};
        const asyncMode = b.kind === 'async' && !u.searchParams.has('location');
        if (op.polls <= b.polls) {
          if (asyncMode) return sendJson(res, 200, { status: 'InProgress' }, extra);
          res.writeHead(202, { 'content-length': '0', ...extra, location: `${base}${path}${u.search}` });
          return res.end();
        }
        if (b.failure) {
          if (asyncMode) return sendJson(res, 200, { status: 'Failed', error: b.failure });
          return sendJson(res, 400, { error: b.failure });
        }
        if (asyncMode) return sendJson(res, 200, { status: 'Succeeded' });
        res.writeHead(200, { 'content-length': '0' });
        return res.end();
      }
      sendJson(res, 404, { error: { code: 'NotFound', message: `no route for ${req.method} ${path}` } });
    })().catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'InternalServerError', message: String(err) } });
    });
  });

  return {
    url: base,
    requests,
    imports,
    setImportBehaviour: (b) => {
      behaviour = b;
    },
    acceptToken: (t) => void tokens.add(t),
    stop: () => l.close(),
  };
}
