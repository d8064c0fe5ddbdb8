// The keychain chain and its auth modes, with a provider's member (as the Azure provider plugs in
// Entra ID) that records what it was asked: which members each mode asks, and what the member sees.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keychainSignIn, type Found, type KeychainQuery, type ProviderMember } from '../../src/auth/keychain.js';
import { AcrImportError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'acr-import-keychain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'reg.example': { auth: Buffer.from('cfg-user:cfg-secret').toString('base64') } } }));
const env = { DOCKER_CONFIG: dir, REGISTRY_AUTH_FILE: join(dir, 'auth.json') };

const query = (registry: string, input: KeychainQuery['input'] = {}): KeychainQuery => ({ side: 'source', registry, input, env });

/** A member that serves `served` only (unless forced), and records each question. */
function member(served: string) {
  const asked: { registry: string; found?: string; forced: boolean }[] = [];
  const m: ProviderMember = async (q, found, forced) => {
    asked.push({ registry: q.registry, found: found?.from, forced });
    if (!forced && q.registry !== served) return undefined;
    return { credential: { kind: 'access-token', token: 'provider-token' }, from: found ? `provider, from ${found.from}` : 'provider' };
  };
  return { m, asked };
}

const kind = (f: Found) => f.credential.kind;

describe('the keychain chain, configured by the auth mode', () => {
  it('auto: the provider is asked last, with what the chain found, and answers only for a registry it serves', async () => {
    const { m, asked } = member('acr.example');
    expect(await keychainSignIn(query('reg.example'), 'auto', m)).toEqual({ credential: { kind: 'basic', username: 'cfg-user', password: 'cfg-secret' }, from: 'docker config' });
    expect((await keychainSignIn(query('acr.example'), 'auto', m)).from).toBe('provider');
    expect((await keychainSignIn(query('other.example'), 'auto', m)).from).toBe('none (anonymous)');
    expect((await keychainSignIn(query('acr.example', { password: 'given' }), 'auto', m)).from).toBe('provider, from flags');
    expect(asked).toEqual([
      { registry: 'reg.example', found: 'docker config', forced: false },
      { registry: 'acr.example', found: undefined, forced: false },
      { registry: 'other.example', found: undefined, forced: false },
      { registry: 'acr.example', found: 'flags', forced: false },
    ]);
  });

  it('docker: the chain without the provider', async () => {
    const { m, asked } = member('acr.example');
    expect(kind(await keychainSignIn(query('reg.example'), 'docker', m))).toBe('basic');
    expect(await keychainSignIn(query('acr.example'), 'docker', m)).toEqual({ credential: { kind: 'anonymous' }, from: 'none (anonymous)' });
    expect(asked).toEqual([]);
  });

  it('entra: only the secrets given come before the provider, which answers for any registry', async () => {
    const { m, asked } = member('acr.example');
    expect((await keychainSignIn(query('reg.example'), 'entra', m)).from).toBe('provider');
    expect((await keychainSignIn(query('reg.example', { password: 'given' }), 'entra', m)).from).toBe('provider, from flags');
    expect(asked).toEqual([
      { registry: 'reg.example', found: undefined, forced: true },
      { registry: 'reg.example', found: 'flags', forced: true },
    ]);
  });

  it('anonymous: no member is asked, and credentials given are refused', async () => {
    const { m, asked } = member('reg.example');
    expect(await keychainSignIn(query('reg.example'), 'anonymous', m)).toEqual({ credential: { kind: 'anonymous' }, from: 'none (--source-auth-mode anonymous)' });
    await expect(keychainSignIn(query('reg.example', { username: 'u', password: 'p' }), 'anonymous', m)).rejects.toThrow(AcrImportError);
    expect(asked).toEqual([]);
  });
});
