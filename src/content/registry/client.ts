// A registry client for the OCI distribution API (spec: "Pulling", "Pushing", "Content
// Discovery"): manifests, blobs, cross-repository mounts, uploads (monolithic, streamed, chunked
// with resume) and tags. Authentication and retries come from the layers below.
import { Readable } from 'node:stream';
import { AcrImportError } from '../../errors.js';
import { RegistryAuthenticator, repositoryScope, type AuthCredential } from '../../auth/authenticator.js';
import { discardBody, header, type HttpMethod, type HttpResponse, type RequestBody, type Transport } from '../../transport/http.js';
import { backoff, isRetryable, type RetryBudget } from '../../transport/retry.js';
import { isLoopbackHost } from '../../oci/reference.js';
import { digestOf, finish, hasherFor } from '../../oci/digest.js';
import { RegistryError, operationOf, registryError } from './errors.js';
import { readCapped } from '../../transport/read-capped.js';
import type { BlobSource, FetchedManifest, ManifestHead, UploadSession } from '../storage.js';
import { referrerList } from '../referrers.js';
import { MANIFEST_ACCEPT, isManifestType, isSchema1, manifestMediaType, type Descriptor } from '../../oci/media-types.js';

/** Manifests larger than this are refused, as every peer does (distribution's own limit is 4 MiB). */
export const MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024;

export interface UploadOptions {
  /** Blobs up to this size go up as one PUT with the bytes (default 1 MiB). */
  monolithicMax?: number;
  /** Blobs above this size go up in chunks that resume after a failure (default 256 MiB). */
  chunkedAbove?: number;
  /** Chunk size for chunked uploads (default 32 MiB; raised to the registry's OCI-Chunk-Min-Length). */
  chunkSize?: number;
  /** An upload session to use (the one a refused mount opened). */
  location?: string;
  /** The OCI-Chunk-Min-Length that came with `location`. */
  minChunk?: number;
  /** The retry budget of the whole blob transfer (default: --retries for this upload). */
  budget?: RetryBudget;
  signal?: AbortSignal;
  /** Bytes pushed so far, for progress. */
  onProgress?: (bytes: number) => void;
}


interface CallOptions {
  method: HttpMethod;
  /** Absolute URL, or a path under the registry's base URL. */
  url: string;
  scopes: string[];
  headers?: Record<string, string>;
  body?: () => RequestBody;
  followRedirects?: boolean;
  retry?: boolean;
  /** False for a stream body: it cannot be sent again after a 401 (the caller resumes instead). */
  replayable?: boolean;
  budget?: RetryBudget;
  signal?: AbortSignal;
}

/** Referrers answers that mean the registry has no referrers API (the spec's 404; servers without the route). */
const REFERRERS_ABSENT = new Set([400, 404, 405, 501]);
/** Pages of tags or referrers followed at most: a registry whose `Link` never ends is not followed forever. */
const MAX_PAGES = 1000;
/** Referrers of one manifest read at most: far beyond any real image, short of a listing that floods memory. */
const MAX_REFERRERS = 10_000;

/** Manifest HEAD answers after which only a GET can tell the digest (registries without HEAD). */
const HEAD_UNSUPPORTED = new Set([400, 405, 501]);

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
    const res = await this.call({ method: 'HEAD', url: `/v2/${repo}/manifests/${ref}`, scopes: [pull(repo)], headers: { accept: MANIFEST_ACCEPT }, followRedirects: true, signal });
    await drain(res);
    if (res.status === 404) return undefined;
    const digest = header(res.headers, 'docker-content-digest');
    const contentType = header(res.headers, 'content-type');
    // Registries without HEAD (405, 501, or a 400 from a minimal server), without a digest header,
    // or serving manifests as plain JSON: only the bytes tell the digest and the type.
    if (HEAD_UNSUPPORTED.has(res.status) || (res.status === 200 && (!digest || !isManifestType(contentType)))) {
      const m = await this.getOptionalManifest(repo, ref, signal);
      return m && { digest: m.digest, mediaType: m.mediaType, size: m.size };
    }
    if (res.status !== 200) throw await this.failed(res, 'HEAD', `/v2/${repo}/manifests/${ref}`);
    this.refuseHtml(res, 'HEAD', `/v2/${repo}/manifests/${ref}`);
    return { digest: digest!, mediaType: (contentType ?? '').split(';')[0]!.trim(), size: Number(header(res.headers, 'content-length') ?? 0) };
  }

  /** getManifest, with undefined for a manifest that does not exist. */
  private async getOptionalManifest(repo: string, ref: string, signal?: AbortSignal): Promise<FetchedManifest | undefined> {
    try {
      return await this.getManifest(repo, ref, signal);
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** GET a manifest's exact bytes, hashed here (a tag's Docker-Content-Digest is not trusted). */
  async getManifest(repo: string, ref: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const budget = this.transport.retry.budget();
    try {
      // A body cut short (a reset, a clean close with or without a length) is asked for again,
      // within the one budget; any other failure is final.
      return await this.transport.retry.within(budget, signal, (err) => err instanceof ManifestBodyBroken, () => this.getManifestOnce(repo, ref, signal, budget));
    } catch (err) {
      throw err instanceof ManifestBodyBroken ? err.final : err;
    }
  }

  private async getManifestOnce(repo: string, ref: string, signal: AbortSignal | undefined, budget: RetryBudget): Promise<FetchedManifest> {
    const url = `/v2/${repo}/manifests/${ref}`;
    const res = await this.call({ method: 'GET', url, scopes: [pull(repo)], headers: { accept: MANIFEST_ACCEPT }, followRedirects: true, budget, signal });
    if (res.status !== 200) throw await this.failed(res, 'GET', url);
    this.refuseHtml(res, 'GET', url);
    const where = `${this.registry}/${repo}${ref.includes(':') ? '@' : ':'}${ref}`;
    let bytes: Buffer;
    try {
      bytes = await readCapped(res, MANIFEST_SIZE_LIMIT);
    } catch (err) {
      if (err instanceof AcrImportError) throw new AcrImportError('integrity', `The manifest of ${where} is larger than ${MANIFEST_SIZE_LIMIT / 1024 / 1024} MiB, the limit for manifests.`);
      if (isRetryable(err)) throw new ManifestBodyBroken(this.transport.networkError(err, { method: 'GET', url: res.finalUrl }));
      throw err;
    }
    const digest = ref.includes(':') ? digestOf(bytes, ref.split(':')[0]) : digestOf(bytes);
    if (ref.includes(':') && digest !== ref) {
      const mismatch = new AcrImportError('integrity', `The manifest served for ${where} does not match its digest: its bytes hash to ${digest}.`);
      // Without a Content-Length a body cut short by a clean close can only show here.
      throw header(res.headers, 'content-length') === undefined ? new ManifestBodyBroken(mismatch) : mismatch;
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
    } catch {
      throw new AcrImportError('integrity', `The manifest of ${where} is not valid JSON (${header(res.headers, 'content-type') ?? 'no content type'}).`);
    }
    const mediaType = manifestMediaType(json, header(res.headers, 'content-type'));
    if (isSchema1(mediaType) || json.schemaVersion === 1) {
      throw new AcrImportError('integrity', `${where} is a Docker schema 1 manifest, a deprecated format that cannot be copied with its digest intact.`, {
        hint: 'Rebuild or re-push the image with a current Docker or BuildKit (schema 2 / OCI).',
      });
    }
    return { digest, mediaType, size: bytes.length, bytes, json };
  }

  /**
   * PUT a manifest's bytes unchanged, by tag or by digest. A registry that answers with another
   * digest stored something else than was sent (it rewrote the manifest): an integrity error.
   */
  async putManifest(repo: string, ref: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<string> {
    return this.transport.retry.within(this.transport.retry.budget(), signal, isLinkRace, () => this.putManifestOnce(repo, ref, bytes, mediaType, signal));
  }

  private async putManifestOnce(repo: string, ref: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<string> {
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
    const sent = digestOf(bytes);
    const stored = header(res.headers, 'docker-content-digest');
    if (stored && stored !== sent) {
      throw new AcrImportError('integrity', `${this.registry}/${repo} stored the manifest sent as ${sent} under another digest, ${stored}: the registry changed its bytes.`, {
        hint: 'The copy would not be the same image. Use a registry that keeps manifests byte for byte.',
      });
    }
    return sent;
  }

  // --- blobs -----------------------------------------------------------------------------------

  /**
   * Whether a blob exists. A 3xx is a yes: the registry is sending us to where the bytes are, and
   * following it is pointless (signed blob-store URLs answer HEAD with 403). Asked before an
   * upload only, so with the upload's scope: its token is fetched while the checks run ahead of
   * the transfers, not by the first upload.
   */
  async hasBlob(repo: string, digest: string, signal?: AbortSignal, budget?: RetryBudget): Promise<boolean> {
    const url = `/v2/${repo}/blobs/${digest}`;
    const res = await this.call({ method: 'HEAD', url, scopes: [push(repo)], budget, signal });
    await drain(res);
    if (res.status === 200 || (res.status >= 301 && res.status <= 308 && res.status !== 304)) return true;
    if (res.status === 404) return false;
    throw await registryError(res, `HEAD ${this.baseUrl}${url}`, this.registry);
  }

  /**
   * A blob's bytes as a stream that checks size and digest at the end (an error, not an end,
   * when they do not match), and resumes with `Range` from the bytes counted here when the body
   * breaks: a reset, a cut with a Content-Length (undici: content-length mismatch) or a clean
   * early end without one. Redirects to a blob store are followed; a signed URL that answers 403
   * (expired) is asked for again from the registry, once per request.
   *
   * The response body is relayed chunk by chunk with plain stream events (pause/resume for
   * backpressure): an async generator here cost a promise and a microtask per 64 KiB chunk,
   * a tenth of the CPU of a bandwidth-bound copy.
   */
  getBlob(repo: string, blob: Pick<Descriptor, 'digest' | 'size'>, options: { offset?: number; signal?: AbortSignal; budget?: RetryBudget } = {}): Readable {
    const url = `/v2/${repo}/blobs/${blob.digest}`;
    const signal = options.signal;
    const start = options.offset ?? 0;
    // The digest can only be checked when every byte passes through here.
    const hash = start === 0 ? hasherFor(blob.digest) : undefined;
    const budget = options.budget ?? this.transport.retry.budget();
    let offset = start;
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
    const complete = () => {
      if (offset !== blob.size) return fail(this.blobMismatch(repo, blob, `${offset} bytes, not the ${blob.size} its descriptor gives`));
      if (hash) {
        const got = finish(hash, blob.digest);
        if (got !== blob.digest) return fail(this.blobMismatch(repo, blob, `bytes that hash to ${got}`));
      }
      out.push(null);
    };
    /** The body broke (or ended early) at `offset`: resume with Range while the budget lasts. */
    const resume = (err: unknown) => {
      if (signal?.aborted || !isRetryable(err) || !budget.take()) return fail(err);
      opening = true;
      backoff(this.transport.retry.delay(budget.taken), signal).then(open, fail);
    };

    const request = async (): Promise<HttpResponse> => {
      const req: CallOptions = { method: 'GET', url, scopes: [pull(repo)], headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, followRedirects: true, budget, signal };
      const res = await this.call(req);
      if (res.status === 403 && new URL(res.finalUrl).origin !== new URL(res.url).origin) {
        // A signed URL that expired between the registry's redirect and our request: ask again.
        await drain(res);
        return this.call(req);
      }
      return res;
    };

    const open = async (): Promise<void> => {
      opening = true;
      let res: HttpResponse;
      try {
        res = await request();
        if (res.status !== 200 && res.status !== 206) throw await this.failed(res, 'GET', url);
      } catch (err) {
        opening = false;
        fail(err);
        return;
      }
      opening = false;
      if (out.destroyed) {
        discardBody(res.body);
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
        // A clean close before the last byte (a proxy without Content-Length): resume like a reset.
        if (offset < blob.size) return resume(Object.assign(new Error(`body ended after ${offset} of ${blob.size} bytes`), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
        complete();
      });
      current.once('error', (err) => {
        if (body !== current) return;
        body = undefined;
        // Every byte is in: a connection that breaks after the last one loses nothing.
        if (offset === blob.size) return complete();
        resume(err);
      });
    };
    return out;
  }

  private blobMismatch(repo: string, blob: Pick<Descriptor, 'digest'>, what: string): AcrImportError {
    return new AcrImportError('integrity', `Blob ${blob.digest} of ${this.registry}/${repo} has ${what}; refusing to copy it.`);
  }

  /**
   * Cross-repository mount (spec: "Mounting a blob from another repository"). 201 means done; 202
   * means refused, with an upload session opened (and its OCI-Chunk-Min-Length) that the caller
   * uses or cancels.
   */
  async mountBlob(repo: string, digest: string, fromRepo: string, signal?: AbortSignal, budget?: RetryBudget): Promise<{ mounted: true } | ({ mounted: false } & UploadSession)> {
    const url = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepo)}`;
    // Push first: some registries read only the first scope.
    const res = await this.call({ method: 'POST', url, scopes: [push(repo), pull(fromRepo)], headers: { 'content-length': '0' }, budget, signal });
    if (res.status !== 201 && res.status !== 202) throw await registryError(res, `POST ${this.baseUrl}${url}`, this.registry);
    await drain(res);
    return res.status === 201 ? { mounted: true } : { mounted: false, ...this.session(res) };
  }

  /** Opens an upload session; returns its location and the registry's minimum chunk size. `operation`: the upload it is for, for errors. */
  async startUpload(repo: string, signal?: AbortSignal, budget?: RetryBudget, operation?: string): Promise<UploadSession> {
    const url = `/v2/${repo}/blobs/uploads/`;
    const res = await this.call({ method: 'POST', url, scopes: [push(repo)], headers: { 'content-length': '0' }, budget, signal });
    if (res.status !== 202) throw await registryError(res, `POST ${this.baseUrl}${url}`, this.registry, operation);
    await drain(res);
    return this.session(res);
  }

  async cancelUpload(repo: string, location: string): Promise<void> {
    const res = await this.call({ method: 'DELETE', url: location, scopes: [push(repo)], retry: false });
    await drain(res);
  }

  /**
   * How many bytes an upload session holds (spec: "Getting upload status"), from its `Range: 0-N`;
   * `reported` is false when the registry sent no Range.
   */
  async uploadStatus(repo: string, location: string, signal?: AbortSignal, budget?: RetryBudget, operation?: string): Promise<{ received: number; reported: boolean; location: string }> {
    const res = await this.call({ method: 'GET', url: location, scopes: [push(repo)], budget, signal });
    if (res.status !== 204 && res.status !== 200) throw await registryError(res, `GET ${redactLocation(location)}`, this.registry, operation);
    await drain(res);
    const range = /^(?:bytes=)?0-(\d+)$/.exec(header(res.headers, 'range') ?? '');
    const next = header(res.headers, 'location') ? this.location(res) : location;
    return { received: range ? Number(range[1]) + 1 : 0, reported: Boolean(range), location: next };
  }

  /**
   * Uploads a blob: one PUT for small blobs, one streamed PATCH + PUT for most, and chunks for
   * large ones; a broken PATCH resumes from the bytes confirmed (see resumePoint). The registry
   * checks the digest at the final PUT; the source stream checks it as well.
   */
  async uploadBlob(repo: string, blob: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, options: UploadOptions = {}): Promise<void> {
    const signal = options.signal;
    const budget = options.budget ?? this.transport.retry.budget();
    const monolithic = blob.size <= (options.monolithicMax ?? 1024 * 1024);
    // A small blob is read while the session opens: one round trip less per blob, which is most
    // of the time of an image of many small layers on a distant registry.
    const early = monolithic ? collect(source(0)) : undefined;
    early?.catch(() => undefined); // awaited below; a failed session must not leave it unhandled
    const session: UploadSession = options.location ? { location: options.location, minChunk: options.minChunk ?? 0 } : await this.startUpload(repo, signal, budget, uploading(repo, blob));
    try {
      if (monolithic) {
        const bytes = await early!;
        await this.finishUpload(repo, session.location, blob.digest, bytes, signal, budget);
      } else {
        // Up to chunkedAbove: one streamed PATCH (a chunk as large as the blob); above it, chunks.
        const chunked = blob.size > (options.chunkedAbove ?? 256 * 1024 * 1024);
        const chunk = chunked ? Math.max(options.chunkSize ?? 32 * 1024 * 1024, session.minChunk) : blob.size;
        await this.uploadChunks(repo, session, blob, source, chunk, chunked, { ...options, budget });
        await this.finishUpload(repo, session.location, blob.digest, undefined, signal, budget);
      }
    } catch (err) {
      await this.cancelUpload(repo, session.location).catch(() => undefined);
      throw err;
    }
  }

  /** PATCHes the blob in chunks of `chunkSize` from offset 0, resuming after a failure; `session` follows each new Location. */
  private async uploadChunks(repo: string, session: UploadSession, blob: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource, chunkSize: number, chunked: boolean, options: UploadOptions & { budget: RetryBudget }): Promise<void> {
    const { signal, budget } = options;
    // Bytes the registry acknowledged, counted here: its Range is checked against this.
    let confirmed = 0;
    let resumed = false;
    while (confirmed < blob.size) {
      const stream = source(confirmed);
      // The slicer counts the bytes for progress as it hands them on: no stream stage of its own.
      const slicer = new Slicer(stream, confirmed, options.onProgress);
      let inFlight = 0;
      try {
        for (let from = confirmed; from < blob.size; from += chunkSize) {
          const length = Math.min(chunkSize, blob.size - from);
          inFlight = length;
          const body = slicer.next(length);
          // A streamed upload (one PATCH) names no range; a chunk or a resumed stream does.
          const range = chunked || from > 0 ? `${from}-${from + length - 1}` : undefined;
          session.location = await this.patch(repo, session.location, length, () => body, signal, range, uploading(repo, blob));
          confirmed = from + length;
          inFlight = 0;
        }
        // Read the source to its end, so that its size and digest checks run before the upload is closed.
        await slicer.end();
      } catch (err) {
        stream.destroy();
        // Some registries cannot resume a session (ACR: a retried chunk is BLOB_UPLOAD_INVALID),
        // and a geo-replica can lose one (BLOB_UPLOAD_UNKNOWN): start again in a new session.
        const code = err instanceof RegistryError ? err.code : undefined;
        const resumeRefused = resumed && code === 'BLOB_UPLOAD_INVALID' && (err as RegistryError).status !== 416;
        if (signal?.aborted || !(isRetryable(err) || resumeRefused) || !budget.take()) throw err;
        await backoff(this.transport.retry.delay(budget.taken), signal);
        const operation = uploading(repo, blob);
        confirmed = resumeRefused || code === 'BLOB_UPLOAD_UNKNOWN' ? await this.restartSession(repo, session, signal, budget, operation) : await this.resumePoint(repo, session, confirmed, inFlight, signal, budget, operation);
        resumed = confirmed > 0;
      }
    }
  }

  /**
   * Where a broken upload goes on. The registry's Range is believed only when it is consistent
   * with the bytes counted here: within the chunk that was in flight (a registry keeps what it
   * received of a cut PATCH), and not the ambiguous `0-0` (Distribution reports it for an empty
   * session as for one byte), which starts a new session. A Range short of what was acknowledged
   * (ECR's Range stops after the first chunk) loses nothing: the acknowledged count stands.
   */
  private async resumePoint(repo: string, session: UploadSession, confirmed: number, inFlight: number, signal: AbortSignal | undefined, budget: RetryBudget, operation: string): Promise<number> {
    const status = await this.uploadStatus(repo, session.location, signal, budget, operation);
    session.location = status.location;
    const reported = status.received;
    if (status.reported && confirmed === 0 && reported === 1) return this.restartSession(repo, session, signal, budget, operation);
    if (reported <= confirmed) return confirmed;
    if (reported <= confirmed + inFlight) return reported;
    // More than was ever sent: nothing in this session can be trusted.
    return this.restartSession(repo, session, signal, budget, operation);
  }

  /** Cancels the session and opens a new one in its place; the upload starts again at 0. */
  private async restartSession(repo: string, session: UploadSession, signal: AbortSignal | undefined, budget: RetryBudget, operation: string): Promise<number> {
    await this.cancelUpload(repo, session.location).catch(() => undefined);
    const fresh = await this.startUpload(repo, signal, budget, operation);
    session.location = fresh.location;
    session.minChunk = Math.max(session.minChunk, fresh.minChunk);
    return 0;
  }

  private async patch(repo: string, location: string, length: number, body: () => Readable, signal: AbortSignal | undefined, contentRange: string | undefined, operation: string): Promise<string> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(length) };
    if (contentRange) headers['content-range'] = contentRange;
    // A PATCH appends to the session: replaying it could duplicate bytes, and its stream is spent,
    // so failures (a 401 included) go up to uploadChunks, which resumes from the session's status.
    const res = await this.call({ method: 'PATCH', url: location, scopes: [push(repo)], headers, body, retry: false, replayable: false, signal });
    if (res.status !== 202 && res.status !== 204 && res.status !== 201) throw await registryError(res, `PATCH ${redactLocation(location)}`, this.registry, operation);
    await drain(res);
    return header(res.headers, 'location') ? this.location(res) : location;
  }

  private async finishUpload(repo: string, location: string, digest: string, bytes: Buffer | undefined, signal?: AbortSignal, budget?: RetryBudget): Promise<void> {
    const url = withQueryParam(location, 'digest', digest);
    const res = await this.call({
      method: 'PUT',
      url,
      scopes: [push(repo)],
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes?.length ?? 0) },
      body: bytes ? () => bytes : undefined,
      budget,
      signal,
    });
    if (res.status !== 201 && res.status !== 204) throw await registryError(res, `PUT ${redactLocation(url)}`, this.registry, `finishing upload of blob ${repo}@${digest}`);
    await drain(res);
  }

  // --- tags ------------------------------------------------------------------------------------

  /** Every tag of a repository, following `Link` pagination. */
  async listTags(repo: string, options: { pageSize?: number; signal?: AbortSignal } = {}): Promise<string[]> {
    const tags: string[] = [];
    await this.pages(repo, `/v2/${repo}/tags/list?n=${options.pageSize ?? 1000}`, options.signal, async (res) => {
      if (res.status !== 200) throw await registryError(res, `GET ${res.url}`, this.registry);
      const body = JSON.parse((await readCapped(res, 16 * 1024 * 1024)).toString('utf8')) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
    });
    return tags;
  }

  // --- referrers -------------------------------------------------------------------------------

  /**
   * The referrers of a manifest from the referrers API (`GET /v2/<name>/referrers/<digest>`),
   * every page of them; undefined when the registry has no API (404, or 400/405/501 from a server
   * that does not know the route), so the caller falls back to the tag schema. With one
   * artifact type the registry is asked to filter; whether it did (`OCI-Filters-Applied`) or not,
   * the caller filters again.
   */
  async listReferrers(repo: string, digest: string, options: { artifactTypes?: readonly string[]; signal?: AbortSignal } = {}): Promise<Descriptor[] | undefined> {
    const filter = options.artifactTypes?.length === 1 ? `?artifactType=${encodeURIComponent(options.artifactTypes[0]!)}` : '';
    const found: Descriptor[] = [];
    let absent = false;
    await this.pages(repo, `/v2/${repo}/referrers/${digest}${filter}`, options.signal, async (res) => {
      if (REFERRERS_ABSENT.has(res.status) && found.length === 0) {
        absent = true;
        return drain(res);
      }
      if (res.status !== 200) throw await registryError(res, `GET ${res.url}`, this.registry);
      this.refuseHtml(res, 'GET', `/v2/${repo}/referrers/${digest}`);
      let json: unknown;
      try {
        json = JSON.parse((await readCapped(res, MANIFEST_SIZE_LIMIT)).toString('utf8'));
      } catch (err) {
        if (err instanceof AcrImportError) throw err;
        throw new AcrImportError('integrity', `${this.registry} answered the referrers of ${repo}@${digest} with something that is not JSON.`);
      }
      found.push(...referrerList(json, `${this.registry}/${repo}@${digest}`));
      if (found.length > MAX_REFERRERS) throw new AcrImportError('limit', `${this.registry}/${repo}@${digest} lists more than ${MAX_REFERRERS} referrers; refusing to read more.`, { hint: 'Narrow them with --referrers-artifact-type.' });
    });
    return absent ? undefined : found;
  }

  /**
   * Follows `Link: <…>; rel="next"` from `first` on, handing each answer to `page`. A next page on
   * another origin gets no token (call() sends credentials to the registry's origin only); a
   * page seen twice ends the walk, as does a page limit.
   */
  private async pages(repo: string, first: string, signal: AbortSignal | undefined, page: (res: HttpResponse) => Promise<void>): Promise<void> {
    const seen = new Set<string>();
    let url: string | undefined = first;
    // Pages are known by their absolute URL: the first is asked by path, the next ones by the link
    // the registry sends, which may name the first again.
    for (let pages = 0; url && !seen.has(new URL(url, this.baseUrl).toString()) && pages < MAX_PAGES; pages++) {
      seen.add(new URL(url, this.baseUrl).toString());
      const res = await this.call({ method: 'GET', url, scopes: [pull(repo)], signal });
      seen.add(res.finalUrl);
      await page(res);
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res.headers, 'link') ?? '');
      url = next ? new URL(next[1]!, res.finalUrl).toString() : undefined;
    }
  }

  // --- plumbing --------------------------------------------------------------------------------

  /**
   * The error of a request to `path` that was answered with a failure. When a redirect took it to
   * another origin (a blob store), the error names that URL and says so in its operation.
   */
  private failed(res: HttpResponse, method: 'GET' | 'HEAD', path: string): Promise<RegistryError> {
    const request = `${method} ${this.baseUrl}${path}`;
    const final = new URL(res.finalUrl);
    if (final.origin === new URL(this.baseUrl).origin) return registryError(res, request, this.registry);
    return registryError(res, `${method} ${redactLocation(res.finalUrl)}`, this.registry, `${operationOf(request)} (redirected to ${final.host})`);
  }

  /**
   * Sends with the right Authorization (only to the registry's own origin: an upload Location or
   * a redirect on another origin gets none); a 401 re-authenticates once and sends again, unless
   * the body was a stream already spent, which the caller resumes.
   */
  private async call(o: CallOptions): Promise<HttpResponse> {
    const send = async (authorization: string | undefined) => {
      // Resolved after authorization(): the first call learns whether a loopback registry serves TLS.
      const url = o.url.startsWith('/') ? `${this.baseUrl}${o.url}` : o.url;
      const ours = new URL(url).origin === new URL(this.baseUrl).origin;
      return this.transport.send({
        method: o.method,
        url,
        headers: { ...o.headers, ...(authorization && ours ? { authorization } : {}) },
        body: o.body,
        followRedirects: o.followRedirects,
        retry: o.retry,
        budget: o.budget,
        signal: o.signal,
      });
    };
    let res = await send(await this.auth.authorization(o.scopes));
    if (res.status === 400 && isLoopbackHost(this.host) && (await this.auth.switchToTls())) {
      await drain(res);
      res = await send(await this.auth.authorization(o.scopes));
    }
    if (res.status !== 401) return res;
    await drain(res);
    const fresh = this.auth.reauthorize(o.scopes, res.headers['www-authenticate'], res.finalUrl);
    if (o.replayable === false) {
      await fresh;
      throw new AcrImportError('transient', `${this.registry} refused the token during ${o.method} ${redactLocation(res.url)} (HTTP 401) after its body was sent.`);
    }
    const again = await send(await fresh);
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
    discardBody(res.body);
    throw new AcrImportError('integrity', `${this.registry} answered ${method} ${path} with an HTML page, not the registry API.`, {
      hint: 'Check the registry host name; a web site, login page or proxy is not a registry endpoint.',
    });
  }

  /** An upload `Location` as an absolute URL: resolved against the URL that answered, its query kept byte for byte. */
  private location(res: HttpResponse): string {
    const loc = header(res.headers, 'location');
    if (!loc) throw new AcrImportError('integrity', `${this.registry} opened an upload without a Location header.`);
    return resolveLocation(loc, res.finalUrl);
  }

  private session(res: HttpResponse): UploadSession {
    return { location: this.location(res), minChunk: Number(header(res.headers, 'oci-chunk-min-length') ?? 0) || 0 };
  }
}

/** A manifest body that broke on the way: worth asking again; `final` is what to report if not. */
class ManifestBodyBroken extends Error {
  constructor(readonly final: unknown) {
    super('manifest body broken');
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

/**
 * `location` resolved against `base`, with its query string exactly as the registry wrote it: a
 * blob store's signed query must not be re-encoded (WHATWG URL escapes some bytes in a query).
 */
export function resolveLocation(location: string, base: string): string {
  const q = location.indexOf('?');
  const path = q < 0 ? location : location.slice(0, q);
  const resolved = new URL(path, base);
  return `${resolved.origin}${resolved.pathname}${q < 0 ? '' : location.slice(q)}`;
}

/**
 * `url` with `name=value` appended to its query as text. URLSearchParams.set would re-encode the
 * whole query, and a signed upload URL (a blob store's) no longer matches its signature.
 */
export function withQueryParam(url: string, name: string, value: string): string {
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  const sep = !base.includes('?') ? '?' : /[?&]$/.test(base) ? '' : '&';
  return `${base}${sep}${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
}

/** What an upload's requests are doing, for their errors. */
function uploading(repo: string, blob: Pick<Descriptor, 'digest'>): string {
  return `uploading blob ${repo}@${blob.digest}`;
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

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/**
 * Cuts one stream into consecutive chunk streams, one at a time: `next(length)` gives a stream of
 * the next `length` bytes. Plain stream events with pause/resume, no promise per chunk. An error
 * of the source, or its end before the chunk is full, errors the chunk being read. `onProgress`
 * hears the offset reached after each piece handed on.
 */
class Slicer {
  private pending: Buffer | undefined;
  private current: { out: Readable; left: number } | undefined;
  private ended = false;
  private error: Error | undefined;
  /** After the last chunk: the source runs to its end (more bytes are an error). */
  private finishing = false;

  constructor(
    private readonly source: Readable,
    private position: number,
    private readonly onProgress?: (bytes: number) => void,
  ) {
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
    this.position += c.length;
    this.onProgress?.(this.position);
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

/**
 * A manifest PUT refused with 400 DIGEST_INVALID, when the bytes sent are the ones hashed: the
 * registry misread one of the manifest's blobs. Distribution rewrites a blob's link file in place
 * when another push uploads or mounts the same blob into the repository (two copies of one image
 * at once), and a manifest checked at that moment reads an empty link (an invalid digest). Asked
 * again once the other push is past it, the same bytes are taken; a manifest that really is
 * refused fails the same way when the retries are spent.
 */
function isLinkRace(err: unknown): boolean {
  return err instanceof RegistryError && err.status === 400 && err.code === 'DIGEST_INVALID';
}
