// A copy between registries that are not ACRs signs in through the keychain chain alone: the Azure
// provider's session module and @azure/identity are never loaded. Both are watched with module
// mocks that record their loading and then load the real module.
import { describe, expect, inject, it, vi } from 'vitest';
import { pushImage, uniqueRepo } from '../harness/index.js';
import { cli, expectExit, skopeoRaw } from './helpers.js';

const loaded = vi.hoisted(() => ({ session: false, identity: false }));
vi.mock('../../src/providers/azure/session.js', async (original) => {
  loaded.session = true;
  return original();
});
vi.mock('@azure/identity', async (original) => {
  loaded.identity = true;
  return original();
});

const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');

describe('a copy with no ACR involved', () => {
  it('never makes the Azure session nor loads @azure/identity (htpasswd registry → open registry)', async () => {
    const src = await pushImage(htpasswd, uniqueRepo('noazure/src'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('noazure/dst');
    const r = await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-u', htpasswd.username!, '-p', htpasswd.password!, '-t', `${dst}:v1`]);
    expectExit(r, 0);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    expect(loaded).toEqual({ session: false, identity: false });

    // The probe sees it when Entra ID is asked for: the session is made (and refused by a registry without ACR's exchange).
    const entra = await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '--source-auth-mode', 'entra', '-p', 'not-a-jwt', '-t', `${dst}:v2`]);
    expectExit(entra, 3);
    expect(loaded.session).toBe(true);
  });
});
