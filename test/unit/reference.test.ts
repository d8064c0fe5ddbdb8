import { describe, expect, it } from 'vitest';
import { AcrImportError } from '../../src/errors.js';
import {
  formatReference,
  isDockerHub,
  isLoopbackHost,
  parseReference,
  parseTargetImage,
  validateDigest,
  validateRepository,
  validateTag,
  type ImageReference,
} from '../../src/oci/reference.js';

const D256 = `sha256:${'a'.repeat(64)}`;
const D512 = `sha512:${'0123456789abcdef'.repeat(8)}`;

function usageError(fn: () => unknown): AcrImportError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AcrImportError);
    const e = err as AcrImportError;
    expect(e.kind).toBe('usage');
    expect(e.exitCode).toBe(2);
    return e;
  }
  throw new Error('expected a usage error, nothing was thrown');
}

describe('parseReference: valid references', () => {
  const cases: Array<[string, ImageReference]> = [
    ['nginx', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['nginx:1.27', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['library/nginx', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['bitnami/redis:7.2', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'bitnami/redis', tag: '7.2' }],
    ['docker.io/nginx', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['docker.io/library/nginx:latest', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['index.docker.io/nginx', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['registry-1.docker.io/library/nginx', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['registry.hub.docker.com/bitnami/redis', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'bitnami/redis', tag: 'latest' }],
    ['Docker.IO/nginx', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['ghcr.io/owner/app:v1', { registry: 'ghcr.io', host: 'ghcr.io', repository: 'owner/app', tag: 'v1' }],
    ['ghcr.io/app', { registry: 'ghcr.io', host: 'ghcr.io', repository: 'app', tag: 'latest' }],
    ['GHCR.IO/owner/app', { registry: 'ghcr.io', host: 'ghcr.io', repository: 'owner/app', tag: 'latest' }],
    ['mcr.microsoft.com/dotnet/runtime:8.0-alpine', { registry: 'mcr.microsoft.com', host: 'mcr.microsoft.com', repository: 'dotnet/runtime', tag: '8.0-alpine' }],
    ['myreg.azurecr.io/a/b/c/d:tag_1', { registry: 'myreg.azurecr.io', host: 'myreg.azurecr.io', repository: 'a/b/c/d', tag: 'tag_1' }],
    ['localhost/foo', { registry: 'localhost', host: 'localhost', repository: 'foo', tag: 'latest' }],
    ['localhost:5000/foo/bar:1', { registry: 'localhost:5000', host: 'localhost:5000', repository: 'foo/bar', tag: '1' }],
    ['localhost:05000/foo', { registry: 'localhost:5000', host: 'localhost:5000', repository: 'foo', tag: 'latest' }],
    ['127.0.0.1:5000/foo', { registry: '127.0.0.1:5000', host: '127.0.0.1:5000', repository: 'foo', tag: 'latest' }],
    ['[::1]:5000/foo:bar', { registry: '[::1]:5000', host: '[::1]:5000', repository: 'foo', tag: 'bar' }],
    ['[::1]/foo', { registry: '[::1]', host: '[::1]', repository: 'foo', tag: 'latest' }],
    ['[2001:db8::1]:443/x/y', { registry: '[2001:db8::1]:443', host: '[2001:db8::1]:443', repository: 'x/y', tag: 'latest' }],
    ['registry:5000/foo', { registry: 'registry:5000', host: 'registry:5000', repository: 'foo', tag: 'latest' }],
    [`nginx@${D256}`, { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', digest: D256 }],
    [`nginx:1.27@${D256}`, { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', tag: '1.27', digest: D256 }],
    [`ghcr.io/o/a@${D512}`, { registry: 'ghcr.io', host: 'ghcr.io', repository: 'o/a', digest: D512 }],
    [`localhost:5000/a:b@${D256}`, { registry: 'localhost:5000', host: 'localhost:5000', repository: 'a', tag: 'b', digest: D256 }],
    ['a.b-c--d/x:Tag.With-Mixed_Case', { registry: 'a.b-c--d', host: 'a.b-c--d', repository: 'x', tag: 'Tag.With-Mixed_Case' }],
    ['foo/a.b/c_d/e__f/g---h', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'foo/a.b/c_d/e__f/g---h', tag: 'latest' }],
    [`x:${'t'.repeat(128)}`, { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/x', tag: 't'.repeat(128) }],
    ['x:_underscore', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/x', tag: '_underscore' }],
    // docker's own (surprising) reading: no '/' means no host, so this is a tag.
    ['localhost:5000', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/localhost', tag: '5000' }],
    ['1.2.3/foo', { registry: '1.2.3', host: '1.2.3', repository: 'foo', tag: 'latest' }],
  ];
  it.each(cases)('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it('accepts a repository name of exactly 255 characters including the registry', () => {
    const repo = `${'a'.repeat(100)}/${'b'.repeat(255 - 'ghcr.io/'.length - 101)}`;
    expect(parseReference(`ghcr.io/${repo}`).repository).toBe(repo);
  });
});

describe('parseReference: invalid references say what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    [' nginx', /whitespace/],
    ['nginx ', /whitespace/],
    ['ngi nx', /whitespace/],
    ['nginx\t', /whitespace/],
    ['ngi\u0001nx', /control character/],
    ['https://ghcr.io/owner/app', /remove the URL scheme "https:\/\/"/],
    ['http://localhost:5000/foo', /remove the URL scheme/],
    ['docker://nginx', /remove the URL scheme "docker:\/\/"/],
    ['Nginx', /must be lower case/],
    ['ghcr.io/Owner/app', /must be lower case/],
    ['MyOrg/app', /must be lower case/],
    ['ghcr.io/owner/app%2Fother', /percent-encoded/],
    ['ghcr.io%2Fowner/app', /percent-encoded/],
    ['ghcr.io/owner\\app', /backslash/],
    ['ghcr.io/owner//app', /empty path component/],
    ['/nginx', /must not start with "\/"/],
    ['ghcr.io/owner/', /must not end with "\/"/],
    ['nginx/', /must not end with "\/"/],
    ['ghcr.io/', /repository is missing after the registry host "ghcr.io"/],
    ['ghcr.io/../etc/passwd', /"\.\." is not allowed/],
    ['ghcr.io/owner/./app', /"\." is not allowed/],
    ['ghcr.io/a..b', /contains "\.\."/],
    ['ghcr.io/-app', /must start and end with a lower-case letter or digit/],
    ['ghcr.io/app-', /must start and end/],
    ['ghcr.io/.app', /must start and end/],
    ['ghcr.io/a___b', /invalid separator/],
    ['ghcr.io/a._b', /invalid separator/],
    ['ghcr.io/a?b=1', /invalid character "\?"/],
    ['ghcr.io/a#frag', /invalid character "#"/],
    ['ghcr.io/caf\u00e9', /invalid character U\+00E9/],
    ['ghcr.io/a+b', /invalid character "\+"/],
    ['nginx:', /tag after ":" is empty/],
    [`nginx:${'t'.repeat(129)}`, /129 characters long; the maximum is 128/],
    ['nginx:.hidden', /tag must start with a letter, a digit or "_"/],
    ['nginx:-x', /tag must start with/],
    ['nginx:a+b', /tag contains an invalid character "\+"/],
    ['nginx:a:b', /at most one ":tag"/],
    ['nginx@', /digest after "@" is empty/],
    ['@sha256:abc', /repository name before "@" is missing/],
    [`nginx@${D256}@${D256}`, /more than one "@"/],
    ['nginx@sha256', /":" is missing/],
    [`nginx@:${'a'.repeat(64)}`, /algorithm before ":" is missing/],
    [`nginx@SHA256:${'a'.repeat(64)}`, /algorithm must be lower case/],
    [`nginx@sha-:${'a'.repeat(64)}`, /not a valid digest algorithm name/],
    [`nginx@md5:${'a'.repeat(32)}`, /"md5" is not supported; only sha256 and sha512/],
    [`nginx@blake3:${'a'.repeat(64)}`, /"blake3" is not supported/],
    [`nginx@foo+bar:${'a'.repeat(64)}`, /unknown digest algorithm "foo\+bar"/],
    ['nginx@sha256:', /hex part after "sha256:" is missing/],
    [`nginx@sha256:${'a'.repeat(63)}`, /sha256 digest has 64 hex digits, this one has 63/],
    [`nginx@sha256:${'a'.repeat(65)}`, /this one has 65/],
    [`nginx@sha512:${'a'.repeat(64)}`, /sha512 digest has 128 hex digits, this one has 64/],
    [`nginx@sha256:${'g'.repeat(64)}`, /non-hex character "g"/],
    [`nginx@sha256:${'A'.repeat(64)}`, /hex must be lower case/],
    ['localhost:0/foo', /port 0 outside 1-65535/],
    ['localhost:65536/foo', /port 65536 outside/],
    ['localhost:abc/foo', /port "abc" that is not a number/],
    ['localhost:/foo', /empty port/],
    [':5000/foo', /no host name before the port/],
    ['::1:5000/foo', /IPv6 address: put it in brackets/],
    ['[::1/foo', /closing "\]"/],
    ['[::g]:5000/foo', /invalid IPv6 address/],
    ['[::1]x/foo', /unexpected text "x"/],
    ['[::1]:5000', /repository is missing after the registry host/],
    ['[::1]:99999/foo', /port 99999 outside/],
    ['300.1.1.1/foo', /invalid IPv4 address/],
    ['my_host.example/foo', /host "my_host.example" contains an invalid character "_"/],
    ['-bad.example/foo', /label "-bad" that starts or ends with "-"/],
    ['bad..example/foo', /empty label/],
    [`${'a'.repeat(64)}.example/foo`, /label longer than 63/],
    [`ghcr.io/${'a'.repeat(250)}`, /characters long; the maximum is 255/],
  ];
  it.each(cases)('%j', (input, message) => {
    const err = usageError(() => parseReference(input));
    expect(err.message).toMatch(message);
    if (input !== '') expect(err.message).toContain(JSON.stringify(input));
  });

  it('suggests the lower-case name and the scheme-less form', () => {
    expect(usageError(() => parseReference('ghcr.io/Owner/App')).hint).toContain('"owner/app"');
    expect(usageError(() => parseReference('https://ghcr.io/o/a/')).hint).toContain('"ghcr.io/o/a"');
  });

  it('refuses non-strings', () => {
    expect(usageError(() => parseReference(undefined as unknown as string)).message).toMatch(/not a string/);
  });
});

describe('parseTargetImage', () => {
  it.each([
    ['hello-world', { repository: 'hello-world', tag: 'latest' }],
    ['hello-world:v1', { repository: 'hello-world', tag: 'v1' }],
    ['samples/nginx:1.27', { repository: 'samples/nginx', tag: '1.27' }],
    ['a/b/c:Tag_1', { repository: 'a/b/c', tag: 'Tag_1' }],
    ['nginx', { repository: 'nginx', tag: 'latest' }],
  ])('%s', (input, expected) => {
    expect(parseTargetImage(input)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['app v1', /whitespace/],
    [`app@${D256}`, /cannot have a digest/],
    ['myreg.azurecr.io/app:v1', /must not include a registry host \("myreg\.azurecr\.io"\)/],
    ['localhost:5000/app', /must not include a registry host/],
    ['localhost/app', /must not include a registry host/],
    ['https://myreg.azurecr.io/app', /URL scheme/],
    ['App:v1', /must be lower case/],
    ['app:', /tag after ":" is empty/],
    [`app:${'x'.repeat(129)}`, /maximum is 128/],
    ['app/', /must not end with "\/"/],
    ['/app', /must not start with "\/"/],
    ['a//b', /empty path component/],
    ['a/../b', /"\.\." is not allowed/],
    ['a%2Fb', /percent-encoded/],
    [`${'a'.repeat(256)}`, /256 characters long; the maximum is 255/],
  ])('refuses %j', (input, message) => {
    const err = usageError(() => parseTargetImage(input));
    expect(err.message).toMatch(message);
    expect(err.message).toContain('invalid target image');
  });

  it('hints at the repository without the host', () => {
    expect(usageError(() => parseTargetImage('myreg.azurecr.io/app:v1')).hint).toContain('"app:v1"');
  });
});

describe('validateRepository / validateTag / validateDigest', () => {
  it.each(['a', 'library/nginx', 'a-b/c.d/e_f/g__h/i--j', 'x'.repeat(255), '0/1/2'])('repository %s is valid', (name) => {
    expect(() => validateRepository(name)).not.toThrow();
  });
  it.each([
    ['', /empty/],
    ['A', /lower case/],
    ['a b', /whitespace/],
    ['a/', /must not end/],
    ['a:b', /contains ":"/],
    ['a@b', /invalid character "@"/],
    ['x'.repeat(256), /maximum is 255/],
  ])('repository %j is refused', (name, message) => {
    const err = usageError(() => validateRepository(name));
    expect(err.message).toMatch(message);
    expect(err.message).toContain(`invalid repository name ${JSON.stringify(name)}`);
  });

  it.each(['latest', 'v1.2.3', '_x', 'A-b_C.d', '9', 't'.repeat(128)])('tag %s is valid', (tag) => {
    expect(() => validateTag(tag)).not.toThrow();
  });
  it.each([
    ['', /empty/],
    ['.x', /must start with/],
    ['-x', /must start with/],
    ['a/b', /invalid character "\/"/],
    ['a b', /invalid character U\+0020/],
    ['t'.repeat(129), /maximum is 128/],
  ])('tag %j is refused', (tag, message) => {
    const err = usageError(() => validateTag(tag));
    expect(err.message).toMatch(message);
    expect(err.message).toContain('invalid tag');
  });

  it.each([D256, D512])('digest %s is valid', (d) => {
    expect(() => validateDigest(d)).not.toThrow();
  });
  it.each([
    ['', /empty/],
    ['sha256', /":" is missing/],
    [`sha384:${'a'.repeat(96)}`, /not supported/],
    [`Sha256:${'a'.repeat(64)}`, /lower case/],
    [`sha256:${'a'.repeat(64)}\n`, /non-hex character U\+000A/],
    [`sha256:${'z'.repeat(64)}`, /non-hex character "z"/],
    [`sha512:${'a'.repeat(127)}`, /128 hex digits, this one has 127/],
    [`sha_256:${'a'.repeat(64)}`, /unknown digest algorithm/],
    [`sha__256:${'a'.repeat(64)}`, /not a valid digest algorithm name/],
  ])('digest %j is refused', (d, message) => {
    expect(usageError(() => validateDigest(d)).message).toMatch(message);
  });
});

describe('formatReference', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    [`nginx@${D256}`, `docker.io/library/nginx@${D256}`],
    [`ghcr.io/o/a:v1@${D256}`, `ghcr.io/o/a:v1@${D256}`],
    ['localhost:5000/a', 'localhost:5000/a:latest'],
    ['[::1]:5000/a:b', '[::1]:5000/a:b'],
  ])('%s → %s', (input, formatted) => {
    expect(formatReference(parseReference(input))).toBe(formatted);
    // round trip
    expect(parseReference(formatted)).toEqual(parseReference(input));
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['LOCALHOST:5000', true],
    ['127.0.0.1', true],
    ['127.0.0.1:5000', true],
    ['127.255.1.2:80', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['::1', true],
    ['[0:0:0:0:0:0:0:1]:5000', true],
    ['[::ffff:127.0.0.1]:5000', true],
    ['128.0.0.1', false],
    ['10.0.0.1:5000', false],
    ['[::2]:5000', false],
    ['[::ffff:10.0.0.1]', false],
    ['localhost.example.com', false],
    ['mylocalhost', false],
    ['ghcr.io', false],
    ['', false],
  ] as const)('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('isDockerHub', () => {
  it.each([
    ['docker.io', true],
    ['index.docker.io', true],
    ['registry-1.docker.io', true],
    ['registry.hub.docker.com', true],
    ['Docker.IO', true],
    ['ghcr.io', false],
    ['docker.com', false],
    ['hub.docker.com', false],
    ['mirror.gcr.io', false],
  ] as const)('%s → %s', (registry, expected) => {
    expect(isDockerHub(registry)).toBe(expected);
  });
});
