/**
 * Deterministic blob content. Bytes come from an AES-256-CTR keystream keyed by
 * sha256(seed): fast (GB/s), reproducible in any process (the foreign-layer
 * server regenerates the exact bytes a fixture described), and two different
 * seeds never share content.
 *
 * Layers are real tar(+gzip) streams holding one file of pseudo-random bytes,
 * so `rootfs.diff_ids` in configs are the true sha256 of the uncompressed tar.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const CHUNK = 1024 * 1024;

function keystream(seed: string) {
  const key = createHash('sha256').update(`acr-import-harness:${seed}`).digest();
  const iv = Buffer.alloc(16);
  return createCipheriv('aes-256-ctr', key, iv);
}

/** `size` pseudo-random bytes for `seed`, in memory (use for small blobs). */
export function seededBytes(seed: string, size: number): Buffer {
  return keystream(seed).update(Buffer.alloc(size));
}

/** The same bytes as {@link seededBytes}, streamed in 1 MiB chunks (never held in memory). */
export function seededStream(seed: string, size: number): Readable {
  const cipher = keystream(seed);
  const zero = Buffer.alloc(CHUNK);
  let remaining = size;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (remaining <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK, remaining);
      remaining -= n;
      this.push(cipher.update(n === CHUNK ? zero : zero.subarray(0, n)));
    },
  });
}

// ---------------------------------------------------------------------------
// tar
// ---------------------------------------------------------------------------

/** A POSIX ustar header for a regular file (mtime 0, root-owned, 0644). */
export function tarHeader(name: string, size: number, type: '0' | '5' = '0'): Buffer {
  const h = Buffer.alloc(512);
  const put = (str: string, off: number, len: number) => h.write(str, off, Math.min(len, Buffer.byteLength(str)), 'utf8');
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  put(name, 0, 100);
  put(octal(type === '5' ? 0o755 : 0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  // sizes above 8 GiB would need base-256; the harness never goes there.
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  h.fill(0x20, 148, 156); // checksum placeholder: spaces
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

const pad512 = (size: number) => Buffer.alloc((512 - (size % 512)) % 512);

/** An in-memory tar of the given files. */
export function tarFiles(files: Array<{ name: string; content: Buffer | string }>): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const content = Buffer.from(f.content);
    parts.push(tarHeader(f.name, content.length), content, pad512(content.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------
// layers
// ---------------------------------------------------------------------------

export type Compression = 'gzip' | 'none';

export interface LayerContent {
  /** sha256 of the blob as stored in the registry. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar (config rootfs.diff_ids entry). */
  diffId: string;
  bytes: Buffer;
}

function layerFileName(seed: string): string {
  return `harness/${createHash('sha256').update(seed).digest('hex').slice(0, 16)}.bin`;
}

/** A small layer built in memory: tar with one `contentSize`-byte file, optionally gzipped. */
export function makeLayer(seed: string, contentSize: number, compression: Compression = 'gzip'): LayerContent {
  const tar = tarFiles([{ name: layerFileName(seed), content: seededBytes(seed, contentSize) }]);
  const bytes = compression === 'gzip' ? gzipSync(tar, { level: 1 }) : tar;
  return { digest: sha256(bytes), size: bytes.length, diffId: sha256(tar), bytes };
}

class HashTap extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

export interface StreamedLayer {
  /** The blob bytes; consume it exactly once. */
  stream: Readable;
  /** Resolves after the stream ended, with the digests computed on the way. */
  done: Promise<{ digest: string; size: number; diffId: string }>;
}

/**
 * A large layer as a stream: tar framing and gzip (level 0: stored, so it is
 * fast and the size is predictable) are applied on the fly while both the tar
 * and the blob are hashed.
 */
export function streamLayer(seed: string, contentSize: number, compression: Compression = 'gzip'): StreamedLayer {
  const header = tarHeader(layerFileName(seed), contentSize);
  const trailer = Buffer.concat([pad512(contentSize), Buffer.alloc(1024)]);
  const body = seededStream(seed, contentSize);
  async function* tarGen() {
    yield header;
    for await (const chunk of body) yield chunk as Buffer;
    yield trailer;
  }
  const tar = Readable.from(tarGen(), { objectMode: false });
  const tarTap = new HashTap();
  const blobTap = new HashTap();
  const done = new Promise<{ digest: string; size: number; diffId: string }>((resolve, reject) => {
    // pipeline() destroys every stage on error, so the consumer of blobTap sees the failure too.
    const onEnd = (err: NodeJS.ErrnoException | null) => {
      if (err) reject(err);
    };
    if (compression === 'gzip') pipeline(tar, tarTap, createGzip({ level: 0 }), blobTap, onEnd);
    else pipeline(tar, tarTap, blobTap, onEnd);
    blobTap.once('end', () => resolve({ digest: blobTap.digest(), size: blobTap.size, diffId: tarTap.digest() }));
  });
  const out: Readable = blobTap;
  // Avoid an unhandled rejection if the consumer fails first and never awaits `done`.
  done.catch(() => undefined);
  return { stream: out, done };
}
