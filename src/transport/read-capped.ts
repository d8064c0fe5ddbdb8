// A small response body (a manifest, an error, a token, an ARM answer) read whole, with a cap: a
// server that sends more is refused instead of filling memory.
import { AcrImportError } from '../errors.js';
import { discardBody, header, type HttpResponse } from './http.js';

/** Reads a body into memory up to `cap` bytes; more is an error (manifests, error bodies). */
export async function readCapped(res: HttpResponse, cap: number): Promise<Buffer> {
  const declared = Number(header(res.headers, 'content-length') ?? NaN);
  if (declared > cap) {
    await res.body.dump().catch(() => undefined);
    throw new AcrImportError('integrity', `Response of ${declared} bytes exceeds the ${cap}-byte limit.`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).length;
    if (total > cap) {
      discardBody(res.body);
      throw new AcrImportError('integrity', `Response exceeds the ${cap}-byte limit.`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
