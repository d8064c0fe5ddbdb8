// A copy between registries that are not ACRs signs in through the keychain chain alone: the Azure
// provider's session module and @azure/identity are never loaded. Both are watched with module
// mocks that record their loading and then load the real module; the session's constructor counts
// the sessions made (a module loads once per file, a session is made per command).
import { describe, expect, inject, it, vi } from 'vitest';
import { pushImage, uniqueRepo } from '../harness/index.js';
import { cli, expectExit, skopeoRaw } from './helpers.js';

const loaded = vi.hoisted(() => ({ session: false, identity: false, sessionsMade: 0 }));
vi.mock('../../src/providers/azure/session.js', async (original) => {
  loaded.session = true;
  const real = await original<typeof import('../../src/providers/azure/session.js')>();
  class AzureSession extends real.AzureSession {
    constructor(...args: ConstructorParameters<typeof real.AzureSession>) {
      super(...args);
      loaded.sessionsMade++;
    }
  }
  return { ...real, AzureSession };
});
vi.mock('@azure/identity', async (original) => {
  loaded.identity = true;
  return original();
});

const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');

describe('a copy with no ACR involved', () => {
  it('show-manifests of a plain registry reads it through the registry API, without the Azure session nor @azure/identity', async () => {
    const src = await pushImage(htpasswd, uniqueRepo('noazure/show'), 'v1', { kind: 'image' });
    const r = await cli(['show-manifests', htpasswd.host, `${src.repo}:v1`, '-u', htpasswd.username!, '-p', htpasswd.password!, '-o', 'json']);
    expectExit(r, 0);
    const rows = JSON.parse(r.stdout) as { digest: string; tags: string[] }[];
    expect(rows).toEqual([expect.objectContaining({ digest: src.digest, tags: ['v1'] })]);
    expect(loaded).toEqual({ session: false, identity: false, sessionsMade: 0 });
  });

  it('never makes the Azure session nor loads @azure/identity (htpasswd registry → open registry)', async () => {
    const src = await pushImage(htpasswd, uniqueRepo('noazure/src'), 'v1', { kind: 'image' });
    const dst = uniqueRepo('noazure/dst');
    const r = await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-u', htpasswd.username!, '-p', htpasswd.password!, '-t', `${dst}:v1`]);
    expectExit(r, 0);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);
    expect(loaded).toEqual({ session: false, identity: false, sessionsMade: 0 });

    // The probe sees it when Entra ID is asked for: the session is made (and refused by a registry without ACR's exchange).
    const entra = await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '--source-auth-mode', 'entra', '-p', 'not-a-jwt', '-t', `${dst}:v2`]);
    expectExit(entra, 3);
    expect(loaded.session).toBe(true);
    expect(loaded.sessionsMade).toBe(1);
  });
});
