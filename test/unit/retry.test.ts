import { describe, expect, it } from 'vitest';
import { RetryBudget, RetryPolicy, backoff, isRetryable, isRetryableStatus, parseRetryAfter } from '../../src/transport/retry.js';
import { AcrImportError } from '../../src/errors.js';
import { RegistryError } from '../../src/content/registry/errors.js';

describe('Retry-After', () => {
  it('reads seconds, HTTP dates, and nothing', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('RetryPolicy', () => {
  it('backs off exponentially with jitter, within the cap', () => {
    const p = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
    for (let i = 0; i < 50; i++) {
      const d1 = p.delay(1);
      const d3 = p.delay(3);
      const d10 = p.delay(10);
      expect(d1).toBeGreaterThanOrEqual(50);
      expect(d1).toBeLessThanOrEqual(100);
      expect(d3).toBeGreaterThanOrEqual(200);
      expect(d3).toBeLessThanOrEqual(400);
      expect(d10).toBeLessThanOrEqual(1000);
    }
  });

  it('honours Retry-After up to its cap', () => {
    const p = new RetryPolicy({ maxRetryAfterMs: 5000 });
    expect(p.delay(1, 2000)).toBe(2000);
    expect(p.delay(1, 3_600_000)).toBe(5000);
  });

  it('pauses every request to a host, not others', async () => {
    const p = new RetryPolicy();
    p.pause('a.example', 150);
    const t0 = Date.now();
    await p.waitTurn('b.example');
    expect(Date.now() - t0).toBeLessThan(50);
    await p.waitTurn('a.example');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('classifies statuses and connection errors', () => {
    for (const s of [429, 500, 502, 503, 504]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [400, 401, 403, 404]) expect(isRetryableStatus(s)).toBe(false);
    expect(isRetryable(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))).toBe(false);
    expect(isRetryable(Object.assign(new Error('x'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toBe(false);
    expect(isRetryable(new Error('terminated'))).toBe(true);
  });

  it('one classifier for every level: typed transient errors, vanished sessions, 416 chunks, cut bodies; never an abort or a refused proxy', () => {
    expect(isRetryable(new AcrImportError('transient', 'x'))).toBe(true);
    expect(isRetryable(new RegistryError('not-found', 'x', 404, 'BLOB_UPLOAD_UNKNOWN', 'r', 'PATCH /'))).toBe(true);
    expect(isRetryable(new RegistryError('integrity', 'x', 416, 'BLOB_UPLOAD_INVALID', 'r', 'PATCH /'))).toBe(true);
    expect(isRetryable(new RegistryError('not-found', 'x', 404, 'MANIFEST_UNKNOWN', 'r', 'GET /'))).toBe(false);
    expect(isRetryable(new AcrImportError('integrity', 'digest mismatch'))).toBe(false);
    expect(isRetryable(new AcrImportError('network', 'The proxy 127.0.0.1:1 refused to connect'))).toBe(false);
    expect(isRetryable(Object.assign(new Error('Response body length does not match content-length header'), { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ECONNRESET' }))).toBe(false);
  });
});

describe('RetryBudget', () => {
  it('gives out exactly its limit, whoever asks', () => {
    const budget = new RetryPolicy({ maxAttempts: 3 }).budget();
    expect([budget.take(), budget.take(), budget.take()]).toEqual([true, true, false]);
    expect(budget.taken).toBe(2);
    expect(new RetryBudget(0).take()).toBe(false);
  });

  it('backoff ends at once on abort, with the reason given', async () => {
    const ctl = new AbortController();
    const reason = new AcrImportError('interrupted', 'Interrupted by SIGINT.');
    setTimeout(() => ctl.abort(reason), 20);
    const t0 = Date.now();
    await expect(backoff(10_000, ctl.signal)).rejects.toBe(reason);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
