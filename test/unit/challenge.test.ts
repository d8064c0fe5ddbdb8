import { describe, expect, it } from 'vitest';
import { parseChallenges, type Challenge } from '../../src/auth/challenge.js';
import { checkRealm } from '../../src/auth/authenticator.js';

describe('parseChallenges', () => {
  const cases: Array<[string, string | string[] | undefined, Challenge[]]> = [
    ['undefined', undefined, []],
    ['empty string', '', []],
    ['empty array', [], []],
    ['only commas and spaces', ' , ,  ', []],
    [
      'Docker Hub bearer',
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push"',
      [
        {
          scheme: 'bearer',
          params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull,push' },
        },
      ],
    ],
    [
      'ACR bearer with spaces after commas',
      'Bearer realm="https://myreg.azurecr.io/oauth2/token", service="myreg.azurecr.io"',
      [{ scheme: 'bearer', params: { realm: 'https://myreg.azurecr.io/oauth2/token', service: 'myreg.azurecr.io' } }],
    ],
    ['basic with realm', 'Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['bare scheme', 'Basic', [{ scheme: 'basic', params: {} }]],
    ['bare scheme with trailing space', 'Negotiate  ', [{ scheme: 'negotiate', params: {} }]],
    ['case-insensitive scheme and keys', 'BEARER Realm="r", SERVICE="s"', [{ scheme: 'bearer', params: { realm: 'r', service: 's' } }]],
    ['values keep their case', 'Bearer realm="HTTPS://Auth/Token"', [{ scheme: 'bearer', params: { realm: 'HTTPS://Auth/Token' } }]],
    ['unquoted token params', 'Bearer realm=r, service=s', [{ scheme: 'bearer', params: { realm: 'r', service: 's' } }]],
    [
      'unquoted URL value (lenient)',
      'Bearer realm=https://auth.example.com/token,service=reg',
      [{ scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'reg' } }],
    ],
    ['BWS around =', 'Bearer realm = "r" ,service= s', [{ scheme: 'bearer', params: { realm: 'r', service: 's' } }]],
    [
      'quoted value with commas, = and escaped quotes',
      'Bearer realm="a,b=c", error="insufficient_scope", error_description="say \\"hi\\", ok\\\\"',
      [{ scheme: 'bearer', params: { realm: 'a,b=c', error: 'insufficient_scope', error_description: 'say "hi", ok\\' } }],
    ],
    ['empty quoted value', 'Bearer realm="", service="s"', [{ scheme: 'bearer', params: { realm: '', service: 's' } }]],
    ['token68', 'Basic abc==', [{ scheme: 'basic', params: { token68: 'abc==' } }]],
    ['token68 with all its characters', 'Negotiate aB9-._~+/x=', [{ scheme: 'negotiate', params: { token68: 'aB9-._~+/x=' } }]],
    [
      'token68 then another challenge',
      'Negotiate abc==, Bearer realm="r"',
      [
        { scheme: 'negotiate', params: { token68: 'abc==' } },
        { scheme: 'bearer', params: { realm: 'r' } },
      ],
    ],
    [
      'several challenges in one header (RFC 7235 example)',
      'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
      [
        { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
        { scheme: 'basic', params: { realm: 'simple' } },
      ],
    ],
    [
      'bearer then basic',
      'Bearer realm="https://auth/token",service="reg", Basic realm="reg"',
      [
        { scheme: 'bearer', params: { realm: 'https://auth/token', service: 'reg' } },
        { scheme: 'basic', params: { realm: 'reg' } },
      ],
    ],
    [
      'bare scheme then another',
      'Basic, Bearer realm="r"',
      [
        { scheme: 'basic', params: {} },
        { scheme: 'bearer', params: { realm: 'r' } },
      ],
    ],
    [
      'several headers',
      ['Bearer realm="r1"', 'Basic realm="r2"'],
      [
        { scheme: 'bearer', params: { realm: 'r1' } },
        { scheme: 'basic', params: { realm: 'r2' } },
      ],
    ],
    [
      'extra whitespace, tabs and empty list elements',
      '  Bearer\t realm="r" ,  , service="s"  ,, Basic  realm="b"  ',
      [
        { scheme: 'bearer', params: { realm: 'r', service: 's' } },
        { scheme: 'basic', params: { realm: 'b' } },
      ],
    ],
    ['missing comma between params is forgiven', 'Bearer realm="r" service="s"', [{ scheme: 'bearer', params: { realm: 'r', service: 's' } }]],
    ['repeated parameter keeps the first', 'Bearer realm="first", realm="second"', [{ scheme: 'bearer', params: { realm: 'first' } }]],
    ['unterminated quoted string runs to the end', 'Bearer realm="https://auth, service=x', [{ scheme: 'bearer', params: { realm: 'https://auth, service=x' } }]],
    ['param before any scheme is skipped', 'realm="x,y", Bearer realm="r"', [{ scheme: 'bearer', params: { realm: 'r' } }]],
    ['garbage characters are skipped', '@@@, Bearer realm="r"', [{ scheme: 'bearer', params: { realm: 'r' } }]],
    ['garbage inside params is skipped', 'Bearer realm="r", (junk), service="s"', [{ scheme: 'bearer', params: { realm: 'r', service: 's' } }]],
    ['stray word after a token68 is skipped', 'Basic abc def, Bearer realm="r"', [{ scheme: 'basic', params: {} }, { scheme: 'bearer', params: { realm: 'r' } }]],
    ['only garbage', '"""', []],
    ['= alone', '=', []],
    ['scheme with trailing =', 'Bearer realm=', [{ scheme: 'bearer', params: { token68: 'realm=' } }]],
  ];

  it.each(cases)('%s', (_name, header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });

  it('never throws on arbitrary input', () => {
    const alphabet = ['Bearer', 'Basic', ' ', ',', '=', '"', '\\', 'realm', 'x', '\t', '==', '(', ')'];
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const len = rand(20);
      for (let j = 0; j < len; j++) s += alphabet[rand(alphabet.length)];
      expect(() => parseChallenges(s)).not.toThrow();
      for (const c of parseChallenges(s)) {
        expect(c.scheme).toBe(c.scheme.toLowerCase());
        for (const k of Object.keys(c.params)) expect(k).toBe(k.toLowerCase());
      }
    }
  });

  it('ignores non-string entries in an array', () => {
    expect(parseChallenges(['Basic', undefined as unknown as string])).toEqual([{ scheme: 'basic', params: {} }]);
  });
});

describe('checkRealm: where a challenge may send the client', () => {
  const registry = 'reg.example';
  it('accepts the registry\'s own realm, an https realm elsewhere, and a loopback realm', () => {
    expect(() => checkRealm('https://reg.example/token', 'https://reg.example', registry, true)).not.toThrow();
    expect(() => checkRealm('https://auth.example/token', 'https://reg.example', registry, true)).not.toThrow();
    expect(() => checkRealm('http://reg.example:5000/token', 'http://reg.example:5000', registry, true)).not.toThrow();
    expect(() => checkRealm('http://127.0.0.1:9/token', 'http://reg.example', registry, true)).not.toThrow();
    expect(() => checkRealm('http://auth.example/token', 'http://reg.example', registry, false)).not.toThrow();
  });

  it('refuses http from https, credentials over http to another host, and realms that are not http(s) URLs', () => {
    expect(() => checkRealm('http://reg.example/token', 'https://reg.example', registry, false)).toThrow(/served over https but names a token realm over plain http/);
    expect(() => checkRealm('http://127.0.0.1:9/token', 'https://reg.example', registry, false)).toThrow(/over plain http/);
    expect(() => checkRealm('http://auth.example/token', 'http://reg.example', registry, true)).toThrow(/another host over plain http/);
    expect(() => checkRealm('file:///etc/passwd', 'https://reg.example', registry, true)).toThrow(/not http\(s\)/);
    expect(() => checkRealm('\u001b[2Jnot a url', 'https://reg.example', registry, true)).toThrow(/not a URL: 'not a url'/);
  });
});
