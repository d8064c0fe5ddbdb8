// OCI distribution error bodies (spec: "Error Codes") turned into typed errors that keep the
// HTTP status, the registry's own code and message, and which request failed.
import { AcrImportError, type ErrorKind } from '../../errors.js';
import { acrRefusal } from '../../auth/acr-refusals.js';
import { header, type HttpResponse } from '../../transport/http.js';
import { readCapped } from '../../transport/read-capped.js';
import { redactText, redactUrl } from '../../transport/redact.js';
import { parseRetryAfter } from '../../transport/retry.js';
import { sanitize } from '../../text/sanitize.js';

export class RegistryError extends AcrImportError {
  constructor(
    kind: ErrorKind,
    message: string,
    readonly status: number,
    readonly code: string | undefined,
    readonly registry: string,
    readonly request: string,
    hint?: string,
  ) {
    super(kind, message, { hint });
    this.name = 'RegistryError';
  }
}

const NOT_FOUND_CODES = new Set(['NAME_UNKNOWN', 'MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'BLOB_UPLOAD_UNKNOWN']);

function kindFor(status: number, code: string | undefined): ErrorKind {
  if (code === 'UNAUTHORIZED' || code === 'DENIED' || status === 401 || status === 403) return 'auth';
  if (code === 'TOOMANYREQUESTS' || status === 429 || status >= 500) return 'transient';
  if ((code && NOT_FOUND_CODES.has(code)) || status === 404) return 'not-found';
  return 'integrity';
}

/** Reads (at most 64 KiB of) an error response and builds the error to throw. */
export async function registryError(res: HttpResponse, request: string, registry: string): Promise<RegistryError> {
  let text = '';
  try {
    text = (await readCapped(res, 64 * 1024)).toString('utf8');
  } catch {
    // the body is only for the message
  }
  const what = sanitize(`${request.split(' ')[0]} ${redactUrl(request.split(' ').slice(1).join(' '))}`);
  const contentType = header(res.headers, 'content-type') ?? '';
  if (/text\/html/i.test(contentType) || /^\s*<(!doctype|html)/i.test(text)) {
    return new RegistryError(
      'integrity',
      `${registry} answered ${what} with an HTML page (HTTP ${res.status}), not the registry API.`,
      res.status,
      undefined,
      registry,
      request,
      'Is this the registry host, or a login page, proxy or web site in front of it?',
    );
  }
  let code: string | undefined;
  let detail = '';
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    const first = body.errors?.[0];
    code = first?.code;
    detail = [first?.code, first?.message].filter(Boolean).join(': ');
  } catch {
    detail = text.trim().slice(0, 200);
  }
  const acr = acrRefusal({ status: res.status, headers: res.headers, detail: sanitize(redactText(detail)), body: text.slice(0, 2000), registry, what });
  if (acr) return new RegistryError(acr.kind, acr.message, res.status, code, registry, request, acr.hint);
  const kind = kindFor(res.status, code);
  const operation = operationOf(request);
  const message = `${registry}: ${operation ? `${sanitize(operation)}: ` : ''}${what} failed with HTTP ${res.status}${detail ? ` (${sanitize(redactText(detail))})` : ''}.`;
  return new RegistryError(kind, message, res.status, code, registry, request, hintFor(kind, res, registry));
}

/**
 * What a request was doing, in the words of the copy ("pushing manifest app@sha256:…"), read from
 * its method and path (distribution spec endpoints end-1 to end-13); undefined when the path is
 * not one of them (an upload location of the registry's own making, a redirect).
 */
export function operationOf(request: string): string | undefined {
  const space = request.indexOf(' ');
  const method = request.slice(0, space);
  const url = request.slice(space + 1);
  let path: string;
  let query: URLSearchParams;
  try {
    const u = new URL(url, 'http://registry.invalid');
    path = decodeURIComponent(u.pathname);
    query = u.searchParams;
  } catch {
    return undefined;
  }
  const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
  if (manifest) {
    const [, repo, ref] = manifest as unknown as [string, string, string];
    const name = `${repo}${ref.includes(':') ? '@' : ':'}${ref}`;
    if (method === 'PUT') return ref.includes(':') ? `pushing manifest ${name}` : `tagging ${name}`;
    return method === 'HEAD' ? `checking manifest ${name}` : `fetching manifest ${name}`;
  }
  if (/^\/v2\/.+\/blobs\/uploads\/?$/.test(path) && method === 'POST') {
    const mount = query.get('mount');
    return mount ? `mounting blob ${mount}` : 'starting a blob upload';
  }
  const blob = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path);
  if (blob) return `${method === 'HEAD' ? 'checking' : 'fetching'} blob ${blob[1]}@${blob[2]}`;
  if (/^\/v2\/.+\/blobs\/uploads\/.+/.test(path) || method === 'PATCH') return method === 'GET' ? 'reading a blob upload' : 'uploading a blob';
  if (/^\/v2\/.+\/tags\/list$/.test(path)) return 'listing tags';
  return undefined;
}

function hintFor(kind: ErrorKind, res: HttpResponse, registry: string): string | undefined {
  if (res.status === 429) {
    const reset = header(res.headers, 'ratelimit-reset');
    const retryAfter = parseRetryAfter(header(res.headers, 'retry-after'));
    const docker = registry === 'docker.io' || registry.endsWith('docker.io');
    return [
      'The registry is rate limiting this client.',
      reset ? `The limit resets at ${new Date(Number(reset) * 1000).toISOString()}.` : retryAfter !== undefined ? `It asks to wait until ${new Date(Date.now() + retryAfter).toISOString()}.` : '',
      docker ? 'Sign in to Docker Hub (--username/--password with an access token, or docker login) for a higher pull limit.' : '',
    ]
      .filter(Boolean)
      .join(' ');
  }
  if (kind === 'auth') return `Check the credentials for ${registry} and that they allow this operation.`;
  return undefined;
}
