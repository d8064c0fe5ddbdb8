import { describe, expect, it } from 'vitest';
import { RetryPolicy, isRetryable, isRetryableStatus, parseRetryAfter } from '../../src/transport/retry.js';

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
});
