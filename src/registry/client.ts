// A registry client for the OCI distribution API (spec: "Pulling", "Pushing", "Content
// Discovery"): manifests, blobs, cross-repository mounts, uploads (monolithic, streamed, chunked
// with resume) and tags. Authentication and retries come from the layers below.
import { Readable, Transform, pipeline } from 'node:stream';
import { AcrImportError } from '../errors.js';
import { RegistryAuthenticator, repositoryScope, type AuthCredential } from '../auth/authenticator.js';
import { header, type HttpMethod, type HttpResponse, type RequestBody, type Transport } from '../transport/http.js';
import { isRetryableError } from '../transport/retry.js';
import { isLoopbackHost } from '../reference.js';
import { digestOf, finish, hasherFor } from './digest.js';
import { RegistryError, readCapped, registryError } from './errors.js';
import { MANIFEST_ACCEPT, isSchema1, type Descriptor } from './media-types.js';

/** Manifests larger than this are refused, as every peer does (distribution's own limit is 4 MiB). */
export const MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024;

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface FetchedManifest extends ManifestHead {
  bytes: Buffer;
  json: Record<string, unknown>;
}

export interface UploadOptions {
  /** Blobs up to this size go up as one PUT with the bytes (default 1 MiB). */
  monolithicMax?: number;
  /** Blobs above this size go up in chunks that resume after a failure (default 256 MiB). */
  chunkedAbove?: number;
  /** Chunk size for chunked uploads (default 32 MiB; raised to the registry's OCI-Chunk-Min-Length). */
  chunkSize?: number;
  /** An upload session to use (the one a refused mount opened). */
  location?: string;
  signal?: AbortSignal;
  /** Bytes pushed so far, for progress. */
  onProgress?: (bytes: number) => void;
}

/** Where a blob's bytes come from: a fresh stream starting at `offset`, each time it is asked. */
export type BlobSource = (offset: number) => Readable;

interface CallOptions {
  method: HttpMethod;
  /** Absolute URL, or a path under the registry's base URL. */
  url: string;
  scopes: string[];
  headers?: Record<string, string>;
  body?: () => RequestBody;
  followRedirects?: boolean;
  retry?: boolean;
  signal?: AbortSignal;
}

export class RegistryClient {
  readonly auth: RegistryAuthenticator;

  constructor(
    private readonly transport: Transport,
    /** The registry as users name it ('docker.io'), for messages. */
    readonly registry: string,
    /** Where to connect ('registry-1.docker.io'). */
    readonly host: string,
    credential: AuthCredential,
  ) {
    this.auth = new RegistryAuthenticator(transport, transport.baseUrl(host), registry, credential);
  }

  get baseUrl(): string {
    return this.auth.baseUrl;
  }

  // --- manifests -------------------------------------------------------------------------------

  /** HEAD a manifest; undefined when it does not exist. Costs no Docker Hub pull. */
  async headManifest(repo: string, ref: string, signal?: AbortSignal): Promise<ManifestHead | undefined> {
    const res = await this.call({ method: 'HEAD', url: `/v2/${repo}/manifests/${ref}`, scopes: [pull(repo)], headers: { accept: MANIFEST_ACCEPT }, signal });
    await drain(res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await registryError(res, `HEAD ${this.baseUrl}/v2/${repo}/manifests/${ref}`, this.registry);
    this.refuseHtml(res, 'HEAD', `/v2/${repo}/manifests/${ref}`);
    const digest = header(res.headers, 'docker-content-digest');
    const mediaType = (header(res.headers, 'content-type') ?? '').split(';')[0]!.trim();
    // Without a digest header the only way to know it is to GET the bytes.
    if (!digest) {
      const m = await this.getManifest(repo, ref, signal);
      return { digest: m.digest, mediaType: m.mediaType, size: m.size };
    }
    return { digest, mediaType, size: Number(header(res.headers, 'content-length') ?? 0) };
  }

  /** GET a manifest's exact bytes, hashed here (a tag's Docker-Content-Digest is not trusted). */
  async getManifest(repo: string, ref: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const url = `/v2/${repo}/manifests/${ref}`;
    const res = await this.call({ method: 'GET', url, scopes: [pull(repo)], headers: { accept: MANIFEST_ACCEPT }, signal });
    if (res.status !== 200) throw await registryError(res, `GET ${this.baseUrl}${url}`, this.registry);
    this.refuseHtml(res, 'GET', url);
    const where = `${this.registry}/${repo}${ref.includes(':') ? '@' : ':'}${ref}`;
    let bytes: Buffer;
    try {
      bytes = await readCapped(res, MANIFEST_SIZE_LIMIT);
    } catch (err) {
      if (err instanceof AcrImportError) throw new AcrImportError('integrity', `The manifest of ${where} is larger than ${MANIFEST_SIZE_LIMIT / 1024 / 1024} MiB, the limit for manifests.`);
      throw err;
    }
    const digest = ref.includes(':') ? digestOf(bytes, ref.split(':')[0]) : digestOf(bytes);
    if (ref.includes(':') && digest !== ref) {
      throw new AcrImportError('integrity', `The manifest served for ${where} does not match its digest: its bytes hash to ${digest}.`);
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
    } catch {
      throw new AcrImportError('integrity', `The manifest of ${where} is not valid JSON (${header(res.headers, 'content-type') ?? 'no content type'}).`);
    }
    const headerType = (header(res.headers, 'content-type') ?? '').split(';')[0]!.trim();
    const mediaType = typeof json.mediaType === 'string' && json.mediaType ? json.mediaType : headerType;
    if (isSchema1(mediaType) || json.schemaVersion === 1) {
      throw new AcrImportError('integrity', `${where} is a Docker schema 1 manifest, a deprecated format that cannot be copied with its digest intact.`, {
        hint: 'Rebuild or re-push the image with a current Docker or BuildKit (schema 2 / OCI).',
      });
    }
    return { digest, mediaType, size: bytes.length, bytes, json };
  }

  /** PUT a manifest's bytes unchanged, by tag or by digest. */
  async putManifest(repo: string, ref: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<string> {
    const url = `/v2/${repo}/manifests/${ref}`;
    const res = await this.call({
      method: 'PUT',
      url,
      scopes: [push(repo)],
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: () => bytes,
      signal,
    });
    if (res.status !== 201 && res.status !== 200) throw await registryError(res, `PUT ${this.baseUrl}${url}`, this.registry);
    await drain(res);
    return header(res.headers, 'docker-content-digest') ?? digestOf(bytes);
  }

  // --- blobs -----------------------------------------------------------------------------------

  async hasBlob(repo: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    const url = `/v2/${repo}/blobs/${digest}`;
    const res = await this.call({ method: 'HEAD', url, scopes: [pull(repo)], followRedirects: true, signal });
    await drain(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await registryError(res, `HEAD ${this.baseUrl}${url}`, this.registry);
  }

  /**
   * A blob's bytes as a stream that checks size and digest at the end (an error, not an end,
   * when they do not match), and resumes with `Range` when the connection drops midway.
   *
   * The response body is relayed chunk by chunk with plain stream events (pause/resume for
   * backpressure): an async generator here cost a promise and a microtask per 64 KiB chunk,
   * a tenth of the CPU of a bandwidth-bound copy.
   */
  getBlob(repo: string, blob: Pick<Descriptor, 'digest' | 'size'>, options: { offset?: number; signal?: AbortSignal } = {}): Readable {
    const url = `/v2/${repo}/blobs/${blob.digest}`;
    const signal = options.signal;
    const start = options.offset ?? 0;
    // The digest can only be checked when every byte passes through here.
    const hash = start === 0 ? hasherFor(blob.digest) : undefined;
    const maxResumes = this.transport.retry.options.maxAttempts;
    let offset = start;
    let resumes = 0;
    let body: HttpResponse['body'] | undefined;
    let opening = false;

    const out = new Readable({
      highWaterMark: 1024 * 1024,
      read() {
        if (body) body.resume();
        else if (!opening) void open();
      },
      destroy(err, callback) {
        const b = body;
        body = undefined;
        b?.destroy();
        callback(err);
      },
    });
    const fail = (err: unknown) => {
      body = undefined;
      out.destroy(err as Error);
    };

    const open = async (): Promise<void> => {
      opening = true;
      let res: HttpResponse;
      try {
        res = await this.call({
          method: 'GET',
          url,
          scopes: [pull(repo)],
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          followRedirects: true,
          signal,
        });
        if (res.status !== 200 && res.status !== 206) throw await registryError(res, `GET ${this.baseUrl}${url}`, this.registry);
      } catch (err) {
        opening = false;
        fail(err);
        return;
      }
      opening = false;
      if (out.destroyed) {
        res.body.destroy();
        return;
      }
      // A server that ignores Range sends everything again: skip what we already have.
      let skip = res.status === 200 ? offset : 0;
      const current = res.body;
      body = current;
      current.on('data', (raw: Buffer) => {
        if (body !== current) return;
        let chunk = raw;
        if (skip > 0) {
          const n = Math.min(skip, chunk.length);
          skip -= n;
          chunk = chunk.subarray(n);
          if (chunk.length === 0) return;
        }
        offset += chunk.length;
        if (offset > blob.size) {
          current.destroy();
          fail(this.blobMismatch(repo, blob, `more than the ${blob.size} bytes its descriptor gives`));
          return;
        }
        hash?.update(chunk);
        if (!out.push(chunk)) current.pause();
      });
      current.once('end', () => {
        if (body !== current) return;
        body = undefined;
        if (offset !== blob.size) return fail(this.blobMismatch(repo, blob, `${offset} bytes, not the ${blob.size} its descriptor gives`));
        if (hash) {
          const got = finish(hash, blob.digest);
          if (got !== blob.digest) return fail(this.blobMismatch(repo, blob, `bytes that hash to ${got}`));
        }
        out.push(null);
      });
      current.once('error', (err) => {
        if (body !== current) return;
        body = undefined;
        if (signal?.aborted || !isRetryableError(err) || resumes >= maxResumes) return fail(err);
        resumes++;
        void open(); // resume from `offset` with a Range request
      });
    };
    return out;
  }

  private blobMismatch(repo: string, blob: Pick<Descriptor, 'digest'>, what: string): AcrImportError {
    return new AcrImportError('integrity', `Blob ${blob.digest} of ${this.registry}/${repo} has ${what}; refusing to copy it.`);
  }

  /**
   * Cross-repository mount (spec: "Mounting a blob from another repository"). 201 means done; 202
   * means refused, with an upload session opened that the caller uses or cancels.
   */
  async mountBlob(repo: string, digest: string, fromRepo: string, signal?: AbortSignal): Promise<{ mounted: true } | { mounted: false; location: string }> {
    const url = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepo)}`;
    // Push first: some registries read only the first scope.
    const res = await this.call({ method: 'POST', url, scopes: [push(repo), pull(fromRepo)], headers: { 'content-length': '0' }, signal });
    if (res.status !== 201 && res.status !== 202) throw await registryError(res, `POST ${this.baseUrl}${url}`, this.registry);
    await drain(res);
    return res.status === 201 ? { mounted: true } : { mounted: false, location: this.location(res) };
  }

  /** Opens an upload session; returns its location and the registry's minimum chunk size. */
  async startUpload(repo: string, signal?: AbortSignal): Promise<{ location: string; minChunk: number }> {
    const url = `/v2/${repo}/blobs/uploads/`;
    const res = await this.call({ method: 'POST', url, scopes: [push(repo)], headers: { 'content-length': '0' }, signal });
    if (res.status !== 202) throw await registryError(res, `POST ${this.baseUrl}${url}`, this.registry);
    await drain(res);
    return { location: this.location(res), minChunk: Number(header(res.headers, 'oci-chunk-min-length') ?? 0) };
  }

  async cancelUpload(repo: string, location: string): Promise<void> {
    const res = await this.call({ method: 'DELETE', url: location, scopes: [push(repo)], retry: false });
    await drain(res);
  }

  /** How many bytes an upload session holds (spec: "Getting upload status"), from its `Range: 0-N`. */
  async uploadStatus(repo: string, location: string, signal?: AbortSignal): Promise<{ received: number; location: string }> {
    const res = await this.call({ method: 'GET', url: location, scopes: [push(repo)], signal });
    if (res.status !== 204 && res.status !== 200) throw await registryError(res, `GET ${redactLocation(location)}`, this.registry);
    await drain(res);
    const range = /^(?:bytes=)?0-(\d+)$/.exec(header(res.headers, 'range') ?? '');
    const next = header(res.headers, 'location') ? this.location(res) : location;
    return { received: range ? Number(range[1]) + 1 : 0, location: next };
  }

  /**
   * Uploads a blob: one PUT for small blobs, one streamed PATCH + PUT for most, and chunks that
   * resume from the registry's reported offset for large ones. The registry checks the digest
   * at the final PUT; the source stream checks it as well.
   */
  async uploadBlob(repo: string, blob: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, options: UploadOptions = {}): Promise<void> {
    const signal = options.signal;
    const monolithic = blob.size <= (options.monolithicMax ?? 1024 * 1024);
    // A small blob is read while the session opens: one round trip less per blob, which is most
    // of the time of an image of many small layers on a distant registry.
    const early = monolithic ? collect(source(0)) : undefined;
    early?.catch(() => undefined); // awaited below; a failed session must not leave it unhandled
    const session = options.location ? { location: options.location, minChunk: 0 } : await this.startUpload(repo, signal);
    try {
      if (monolithic) {
        const bytes = await early!;
        await this.finishUpload(repo, session.location, blob.digest, bytes, signal);
      } else if (blob.size <= (options.chunkedAbove ?? 256 * 1024 * 1024)) {
        const location = await this.patch(repo, session.location, blob.size, () => progressStream(source(0), options.onProgress, 0), signal, undefined);
        await this.finishUpload(repo, location, blob.digest, undefined, signal);
      } else {
        const chunk = Math.max(options.chunkSize ?? 32 * 1024 * 1024, session.minChunk);
        const location = await this.uploadChunks(repo, session.location, blob, source, chunk, options);
        await this.finishUpload(repo, location, blob.digest, undefined, signal);
      }
    } catch (err) {
      await this.cancelUpload(repo, session.location).catch(() => undefined);
      throw err;
    }
  }

  private async uploadChunks(repo: string, start: string, blob: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, chunkSize: number, options: UploadOptions): Promise<string> {
    let location = start;
    let offset = 0;
    let failures = 0;
    while (offset < blob.size) {
      const stream = source(offset);
      const slicer = new Slicer(stream);
      try {
        for (let from = offset; from < blob.size; from += chunkSize) {
          const length = Math.min(chunkSize, blob.size - from);
          const body = slicer.next(length);
          location = await this.patch(repo, location, length, () => progressStream(body, options.onProgress, from), options.signal, `${from}-${from + length - 1}`);
          offset = from + length;
          failures = 0;
        }
        // Read the source to its end, so that its size and digest checks run before the upload is closed.
        await slicer.end();
      } catch (err) {
        stream.destroy();
        if (options.signal?.aborted || failures >= this.transport.retry.options.maxAttempts || !(isRetryableError(err) || isTransient(err))) throw err;
        failures++;
        await sleepMs(this.transport.retry.delay(failures));
        // Resume where the registry says it is, not where we think we are.
        const status = await this.uploadStatus(repo, location, options.signal);
        offset = status.received;
        location = status.location;
      }
    }
    return location;
  }

  private async patch(repo: string, location: string, length: number, body: () => Readable, signal: AbortSignal | undefined, contentRange: string | undefined): Promise<string> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(length) };
    if (contentRange) headers['content-range'] = contentRange;
    // A PATCH appends to the session: replaying it could duplicate bytes, so failures go up.
    const res = await this.call({ method: 'PATCH', url: location, scopes: [push(repo)], headers, body, retry: false, signal });
    if (res.status !== 202 && res.status !== 204) throw await registryError(res, `PATCH ${redactLocation(location)}`, this.registry);
    await drain(res);
    return header(res.headers, 'location') ? this.location(res) : location;
  }

  private async finishUpload(repo: string, location: string, digest: string, bytes: Buffer | undefined, signal?: AbortSignal): Promise<void> {
    const url = new URL(location, this.baseUrl);
    url.searchParams.set('digest', digest);
    const res = await this.call({
      method: 'PUT',
      url: url.toString(),
      scopes: [push(repo)],
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes?.length ?? 0) },
      body: bytes ? () => bytes : undefined,
      signal,
    });
    if (res.status !== 201 && res.status !== 204) throw await registryError(res, `PUT ${redactLocation(url.toString())}`, this.registry);
    await drain(res);
  }

  // --- tags ------------------------------------------------------------------------------------

  /** Every tag of a repository, following `Link` pagination. */
  async listTags(repo: string, options: { pageSize?: number; signal?: AbortSignal } = {}): Promise<string[]> {
    const signal = options.signal;
    const tags: string[] = [];
    let url: string | undefined = `/v2/${repo}/tags/list?n=${options.pageSize ?? 1000}`;
    while (url) {
      // A next page on another origin is asked without the registry's token.
      const res = url.startsWith('/') || new URL(url).origin === new URL(this.baseUrl).origin ? await this.call({ method: 'GET', url, scopes: [pull(repo)], signal }) : await this.transport.send({ method: 'GET', url, signal });
      if (res.status !== 200) throw await registryError(res, `GET ${this.baseUrl}${url}`, this.registry);
      const body = JSON.parse((await readCapped(res, 16 * 1024 * 1024)).toString('utf8')) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res.headers, 'link') ?? '');
      url = next ? new URL(next[1]!, this.baseUrl).toString() : undefined;
    }
    return tags;
  }

  // --- plumbing --------------------------------------------------------------------------------

  /** Sends with the right Authorization; a 401 re-authenticates once and sends again. */
  private async call(o: CallOptions): Promise<HttpResponse> {
    const send = async (authorization: string | undefined) =>
      this.transport.send({
        method: o.method,
        // Resolved after authorization(): the first call learns whether a loopback registry serves TLS.
        url: o.url.startsWith('/') ? `${this.baseUrl}${o.url}` : o.url,
        headers: { ...o.headers, ...(authorization ? { authorization } : {}) },
        body: o.body,
        followRedirects: o.followRedirects,
        retry: o.retry,
        signal: o.signal,
      });
    let res = await send(await this.auth.authorization(o.scopes));
    if (res.status === 400 && isLoopbackHost(this.host) && (await this.auth.switchToTls())) {
      await drain(res);
      res = await send(await this.auth.authorization(o.scopes));
    }
    if (res.status !== 401) return res;
    await drain(res);
    const again = await send(await this.auth.reauthorize(o.scopes, res.headers['www-authenticate'], res.finalUrl));
    if (again.status === 401 && this.auth.credential.kind === 'anonymous') {
      await drain(again);
      throw new RegistryError(
        'auth',
        `${this.registry} requires authentication (HTTP 401 for ${o.method} ${redactLocation(again.url)}), and no credentials were given for it.`,
        401,
        'UNAUTHORIZED',
        this.registry,
        `${o.method} ${redactLocation(again.url)}`,
        'Give credentials with --username/--password (source) or --target-username/--target-password (target), their environment variables, or docker login.',
      );
    }
    return again;
  }

  /** A web page where the registry API should answer: a login page, a proxy, the wrong host. */
  private refuseHtml(res: HttpResponse, method: string, path: string): void {
    if (!/text\/html/i.test(header(res.headers, 'content-type') ?? '')) return;
    res.body.destroy();
    throw new AcrImportError('integrity', `${this.registry} answered ${method} ${path} with an HTML page, not the registry API.`, {
      hint: 'Check the registry host name; a web site, login page or proxy is not a registry endpoint.',
    });
  }

  /** An upload `Location`, absolute or relative, as an absolute URL. */
  private location(res: HttpResponse): string {
    const loc = header(res.headers, 'location');
    if (!loc) throw new AcrImportError('integrity', `${this.registry} opened an upload without a Location header.`);
    return new URL(loc, this.baseUrl).toString();
  }
}

/** Every response body must be consumed or the connection is not reused. */
function drain(res: HttpResponse): Promise<void> {
  return res.body.dump().catch(() => undefined);
}

function pull(repo: string): string {
  return repositoryScope(repo, 'pull');
}

function push(repo: string): string {
  return repositoryScope(repo, 'pull,push');
}

function isTransient(err: unknown): boolean {
  return err instanceof AcrImportError && (err.kind === 'transient' || (err.kind === 'not-found' && /BLOB_UPLOAD_UNKNOWN/.test(err.message)));
}

function redactLocation(location: string): string {
  // Upload locations carry opaque state, sometimes signed; keep only the path for messages.
  try {
    const u = new URL(location);
    return `${u.origin}${u.pathname}`;
  } catch {
    return location;
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function progressStream(stream: Readable, onProgress: ((bytes: number) => void) | undefined, base: number): Readable {
  if (!onProgress) return stream;
  let n = base;
  // A Transform, not an async generator: no promise per chunk. pipeline() carries an error or a
  // destroy from either end to the other.
  const counter = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      n += chunk.length;
      onProgress(n);
      callback(null, chunk);
    },
  });
  pipeline(stream, counter, () => undefined);
  return counter;
}

/**
 * Cuts one stream into consecutive chunk streams, one at a time: `next(length)` gives a stream of
 * the next `length` bytes. Plain stream events with pause/resume, no promise per chunk. An error
 * of the source, or its end before the chunk is full, errors the chunk being read.
 */
class Slicer {
  private pending: Buffer | undefined;
  private current: { out: Readable; left: number } | undefined;
  private ended = false;
  private error: Error | undefined;
  /** After the last chunk: the source runs to its end (more bytes are an error). */
  private finishing = false;

  constructor(private readonly source: Readable) {
    source.on('data', (chunk: Buffer) => {
      const cur = this.current;
      if (!cur) {
        // Paused between chunks: keep it for the next one.
        this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
        if (!this.finishing) source.pause();
        return;
      }
      if (!this.deliver(cur, chunk)) source.pause();
    });
    source.pause();
    source.once('end', () => {
      this.ended = true;
      this.current?.out.destroy(new AcrImportError('integrity', 'The source blob ended early.'));
    });
    source.once('error', (err) => {
      this.error = err;
      this.current?.out.destroy(err);
    });
  }

  /** Pushes `chunk` into the current slice; false when the source should wait. */
  private deliver(cur: { out: Readable; left: number }, chunk: Buffer): boolean {
    let c = chunk;
    if (c.length > cur.left) {
      this.pending = c.subarray(cur.left);
      c = c.subarray(0, cur.left);
    }
    cur.left -= c.length;
    const more = cur.out.push(c);
    if (cur.left === 0) {
      this.current = undefined;
      cur.out.push(null);
      return false;
    }
    return more;
  }

  next(length: number): Readable {
    const cur = { left: length, out: undefined as unknown as Readable };
    cur.out = new Readable({
      highWaterMark: 1024 * 1024,
      read: () => {
        if (this.current !== cur) return;
        if (this.pending) {
          const p = this.pending;
          this.pending = undefined;
          if (!this.deliver(cur, p)) return;
        }
        if (this.error) return void cur.out.destroy(this.error);
        if (this.ended) return void cur.out.destroy(new AcrImportError('integrity', 'The source blob ended early.'));
        this.source.resume();
      },
      destroy: (err, callback) => {
        if (this.current === cur) {
          this.current = undefined;
          this.source.pause();
        }
        callback(err);
      },
    });
    this.current = cur;
    return cur.out;
  }

  /** Resolves when the source ends with nothing left over; rejects with its error. */
  end(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending?.length) return reject(new AcrImportError('integrity', 'The source blob has more bytes than its descriptor gives.'));
      if (this.error) return reject(this.error);
      if (this.ended) return resolve();
      this.finishing = true;
      this.source.once('end', () => (this.pending?.length ? reject(new AcrImportError('integrity', 'The source blob has more bytes than its descriptor gives.')) : resolve()));
      this.source.once('error', reject);
      this.source.resume();
    });
  }
}
