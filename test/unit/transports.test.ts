// skopeo's transport syntax, as users type it.
import { describe, expect, it } from 'vitest';
import { formatStorageSpec, parseStorageSpec } from '../../src/content/transports.js';
import { splitName } from '../../src/content/open.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseStorageSpec', () => {
  it.each([
    ['ghcr.io/org/app:v1', { transport: 'registry', reference: 'ghcr.io/org/app:v1' }],
    ['docker://ghcr.io/org/app:v1', { transport: 'registry', reference: 'ghcr.io/org/app:v1' }],
    ['localhost:5000/app', { transport: 'registry', reference: 'localhost:5000/app' }],
    ['oci:/srv/images', { transport: 'oci', path: '/srv/images' }],
    ['oci:/srv/images:v1', { transport: 'oci', path: '/srv/images', name: 'v1' }],
    ['oci:images:app:v1', { transport: 'oci', path: 'images', name: 'app:v1' }],
    [`oci:/srv/images@${D}`, { transport: 'oci', path: '/srv/images', digest: D }],
    ['oci-archive:out.tar', { transport: 'oci-archive', path: 'out.tar' }],
    ['oci-archive:out.tar:app:v1', { transport: 'oci-archive', path: 'out.tar', name: 'app:v1' }],
    ['docker-archive:saved.tar:hello:latest', { transport: 'docker-archive', path: 'saved.tar', name: 'hello:latest' }],
    ['docker-archive:saved.tar:@1', { transport: 'docker-archive', path: 'saved.tar', name: '@1' }],
  ])('%s', (input, spec) => {
    expect(parseStorageSpec(input, '--source')).toEqual(spec);
    expect(formatStorageSpec(parseStorageSpec(input, '--source'))).toBe(input.replace(/^docker:\/\//, ''));
  });

  it.each([
    ['oci:', /has no path/],
    ['oci-archive::v1', /has no path/],
    ['oci:/srv/images:', /names no image/],
    [`oci:/srv/images:v1@${D}`, /both a name and a digest/],
  ])('refuses %s', (input, message) => {
    expect(() => parseStorageSpec(input, '--source')).toThrow(message);
  });
});

describe('splitName', () => {
  it('splits a layout ref name into repository and tag', () => {
    expect(splitName('app:v1')).toEqual({ repository: 'app', tag: 'v1' });
    expect(splitName('org/app:v1')).toEqual({ repository: 'org/app', tag: 'v1' });
    expect(splitName('v1')).toEqual({ repository: '', tag: 'v1' });
    expect(splitName('localhost:5000/app')).toEqual({ repository: '', tag: 'localhost:5000/app' });
  });
});
