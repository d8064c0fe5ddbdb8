/**
 * A loopback stand-in for Entra ID's authorities (login.microsoftonline.com, login.chinacloudapi.cn,
 * login.microsoftonline.us), reached through a tunnelling forward proxy (HTTPS_PROXY): the client
 * asks for the real name, the proxy records it and tunnels to one TLS server whose certificate
 * (harness CA) carries every authority's name. It answers what MSAL asks of a service principal:
 *   GET  /{tenant}/v2.0/.well-known/openid-configuration   the authority's endpoints
 *   GET  /common/discovery/instance                         instance discovery
 *   POST /{tenant}/oauth2/v2.0/token                        client_credentials → access token
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { tunnel } from '../harness/http-forward.js';
import { createTestCA, issueServerCert } from '../harness/pki.js';
import { LOOPBACK, listen, makeTempDir, readBody, removeTempDir, sendJson } from '../harness/util.js';
import { fakeEntraJwt } from './helpers.js';

// login.partner.microsoftonline.cn: where MSAL sends login.chinacloudapi.cn's requests (its preferred alias).
export const AUTHORITY_HOSTS = ['login.microsoftonline.com', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn', 'login.microsoftonline.us'];

export interface EntraTokenRequest {
  authority: string;
  tenant: string;
  clientId?: string;
  scope?: string;
  /** The token handed out. */
  token?: string;
}

export interface RunningFakeEntra {
  /** `http://127.0.0.1:port`, for HTTPS_PROXY. */
  proxyUrl: string;
  caPath: string;
  /** `host:port` of every CONNECT, in order. */
  tunnels: string[];
  tokenRequests: EntraTokenRequest[];
  stop(): Promise<void>;
}

export async function startFakeEntra(o: { clientId: string; clientSecret: string; onToken: (token: string) => void }): Promise<RunningFakeEntra> {
  const dir = makeTempDir('fake-entra');
  const ca = await createTestCA(dir, 'acr-import fake Entra CA');
  const cert = await issueServerCert(ca, dir, { name: 'entra', hosts: AUTHORITY_HOSTS });
  const tunnels: string[] = [];
  const tokenRequests: EntraTokenRequest[] = [];

  const tls = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    void (async () => {
      const authority = (req.headers.host ?? '').replace(/:443$/, '');
      const base = `https://${authority}`;
      const u = new URL(req.url ?? '/', base);
      const body = new URLSearchParams((await readBody(req)).toString('utf8'));
      if (req.method === 'GET' && u.pathname === '/common/discovery/instance') {
        return sendJson(res, 200, {
          tenant_discovery_endpoint: `${base}/common/v2.0/.well-known/openid-configuration`,
          'api-version': '1.1',
          metadata: [{ preferred_network: authority, preferred_cache: authority, aliases: [authority] }],
        });
      }
      let m = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(u.pathname);
      if (req.method === 'GET' && m) {
        const t = m[1]!;
        return sendJson(res, 200, {
          issuer: `${base}/${t}/v2.0`,
          token_endpoint: `${base}/${t}/oauth2/v2.0/token`,
          authorization_endpoint: `${base}/${t}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${base}/${t}/oauth2/v2.0/logout`,
          jwks_uri: `${base}/${t}/discovery/v2.0/keys`,
          response_types_supported: ['code', 'id_token', 'token'],
        });
      }
      m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(u.pathname);
      if (req.method === 'POST' && m) {
        const rec: EntraTokenRequest = { authority, tenant: m[1]!, clientId: body.get('client_id') ?? undefined, scope: body.get('scope') ?? undefined };
        tokenRequests.push(rec);
        if (body.get('client_id') !== o.clientId || body.get('client_secret') !== o.clientSecret) {
          return sendJson(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
        }
        const resource = (rec.scope ?? '').split(' ').find((s) => s.endsWith('/.default'))?.replace(/\/\.default$/, '');
        rec.token = fakeEntraJwt({ aud: resource, tid: rec.tenant, oid: o.clientId, iss: `${base}/${rec.tenant}/v2.0`, exp: Math.floor(Date.now() / 1000) + 3600 });
        o.onToken(rec.token);
        return sendJson(res, 200, { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: rec.token });
      }
      sendJson(res, 404, { error: 'not_found', error_description: `no route for ${req.method} ${u.pathname}` });
    })().catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err) });
    });
  });
  const tlsListening = await listen(tls as unknown as http.Server);
  const tlsPort = Number(tlsListening.host.split(':').pop());

  // Tunnels every CONNECT to the TLS server above, whatever name it asks for.
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, client, head) => {
    tunnels.push(req.url ?? '');
    tunnel(client, head, tlsPort, LOOPBACK);
  });
  const proxyListening = await listen(proxy);

  return {
    proxyUrl: `http://${proxyListening.host}`,
    caPath: ca.certPath,
    tunnels,
    tokenRequests,
    stop: async () => {
      await proxyListening.close();
      await tlsListening.close();
      removeTempDir(dir);
    },
  };
}
