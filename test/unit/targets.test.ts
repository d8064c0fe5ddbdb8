import { describe, expect, it } from 'vitest';
import { cloudByName, loginServerFor } from '../../src/providers/azure/cloud.js';
import { explicitTargets, sourceFor, sourceInRegistryNamed, targetsFor } from '../../src/commands/targets.js';
import { parseSize } from '../../src/cli/parse.js';
import { parseReference } from '../../src/oci/reference.js';
import { AcrImportError } from '../../src/errors.js';

const cloud = cloudByName(undefined);

describe('--name and --registry', () => {
  it('turns a bare name into an ACR login server of the chosen cloud', () => {
    expect(loginServerFor('myregistry', cloud)).toBe('myregistry.azurecr.io');
    expect(loginServerFor('MyRegistry', cloudByName('AzureChinaCloud'))).toBe('myregistry.azurecr.cn');
    expect(loginServerFor('myregistry', cloudByName('azureusgovernment'))).toBe('myregistry.azurecr.us');
  });

  it('takes a value with a dot, a colon or localhost as a login server', () => {
    expect(loginServerFor('127.0.0.1:5000', cloud)).toBe('127.0.0.1:5000');
    expect(loginServerFor('ghcr.io', cloud)).toBe('ghcr.io');
    expect(loginServerFor('localhost', cloud)).toBe('localhost');
    expect(loginServerFor('myregistry.azurecr.io', cloud)).toBe('myregistry.azurecr.io');
  });

  it('refuses URLs, paths and impossible ACR names with a clear message', () => {
    expect(() => loginServerFor('https://ghcr.io', cloud)).toThrow(/without the scheme.*ghcr\.io/);
    expect(() => loginServerFor('ab', cloud)).toThrow(/5 to 50 letters and digits/);
    expect(() => loginServerFor('ghcr.io/org', cloud)).toThrow(/not a registry name/);
    expect(() => cloudByName('Mars')).toThrow(/Unknown cloud 'Mars'/);
  });
});

describe('--source', () => {
  it('normalises Docker Hub short names like docker does', () => {
    const s = sourceFor('nginx', undefined).reference;
    expect(s).toMatchObject({ registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest' });
  });

  it('with --registry takes repo[:tag] and strips a repeated login server with a warning', () => {
    const a = sourceFor('team/app:1.0', 'src.azurecr.io');
    expect(a.reference).toMatchObject({ registry: 'src.azurecr.io', repository: 'team/app', tag: '1.0' });
    expect(a.warning).toBeUndefined();
    const b = sourceFor('src.azurecr.io/team/app:1.0', 'src.azurecr.io');
    expect(b.reference).toMatchObject({ registry: 'src.azurecr.io', repository: 'team/app', tag: '1.0' });
    expect(b.warning).toMatch(/repeated in --source/);
  });
});

describe('targets, as az decides them', () => {
  const tagged = parseReference('docker.io/library/hello-world:latest');
  const digest = `sha256:${'a'.repeat(64)}`;
  const byDigest = parseReference(`docker.io/library/hello-world@${digest}`);

  it('defaults to the source path; a digest source is tagged latest (az: "target_tags = [source_image[:index]]", and ACR tags a repository without a tag "latest" when the source has no tag)', () => {
    expect(targetsFor(explicitTargets([], []), tagged)).toEqual([{ repository: 'library/hello-world', tag: 'latest' }]);
    expect(targetsFor(explicitTargets([], []), byDigest)).toEqual([{ repository: 'library/hello-world', tag: 'latest' }]);
    expect(targetsFor(explicitTargets([], []), parseReference(`docker.io/library/hello-world:1.0@${digest}`))).toEqual([{ repository: 'library/hello-world', tag: '1.0' }]);
    // Untagged only when asked for with --repository.
    expect(targetsFor(explicitTargets([], ['archive']), byDigest)).toEqual([{ repository: 'archive' }]);
  });

  it('reads --source in an ACR known by its resource ID, stripping its repeated login server, hashed or not', () => {
    expect(sourceInRegistryNamed('team/app:1', 'myacr', cloud)).toEqual({ reference: parseReference('myacr.azurecr.io/team/app:1') });
    const hashed = sourceInRegistryNamed('MyAcr-h4sh3d.azurecr.io/team/app:1', 'myacr', cloud);
    expect(hashed.reference).toEqual(parseReference('myacr-h4sh3d.azurecr.io/team/app:1'));
    expect(hashed.warning).toMatch(/login server 'myacr-h4sh3d\.azurecr\.io' is repeated in --source/);
    expect(sourceInRegistryNamed('otheracr.azurecr.io/app:1', 'myacr', cloud).reference.repository).toBe('otheracr.azurecr.io/app');
  });

  it('takes every -t and --repository, each once', () => {
    expect(targetsFor(explicitTargets(['a:1', 'b', 'a:1'], ['c']), tagged)).toEqual([
      { repository: 'a', tag: '1' },
      { repository: 'b', tag: 'latest' },
      { repository: 'c' },
    ]);
  });

  it('refuses a digest in -t and a tag in --repository', () => {
    expect(() => targetsFor(explicitTargets([`a@${digest}`], []), tagged)).toThrow(/has a digest/);
    expect(() => targetsFor(explicitTargets([], ['c:1']), tagged)).toThrow(/repository name only/);
    expect(() => targetsFor(explicitTargets([], ['Upper']), tagged)).toThrow(AcrImportError);
  });
});

describe('sizes', () => {
  it('reads units', () => {
    expect(parseSize('2GiB', '--max-layer-size')).toBe(2 * 1024 ** 3);
    expect(parseSize('500MB', '--x')).toBe(500e6);
    expect(parseSize('1048576', '--x')).toBe(1048576);
    expect(() => parseSize('lots', '--max-layer-size')).toThrow(/--max-layer-size takes a size/);
  });
});
