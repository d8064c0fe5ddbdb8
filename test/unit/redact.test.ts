import { describe, expect, it } from 'vitest';
import { redactHeader, redactText, redactUrl } from '../../src/transport/redact.js';

describe('redaction', () => {
  it('hides passwords in URLs and token query parameters', () => {
    expect(redactUrl('https://bob:s3cret@registry.example/v2/')).toBe('https://bob:***@registry.example/v2/');
    expect(redactUrl('https://r.example/token?service=x&access_token=abc.def&scope=y')).toBe('https://r.example/token?service=x&access_token=***&scope=y');
    expect(redactUrl('https://r.example/oauth2/token?password=hunter2')).not.toContain('hunter2');
  });

  it('keeps the auth scheme of a header but never the credential', () => {
    expect(redactHeader('Authorization', 'Bearer eyJabc.def.ghi')).toBe('Bearer ***');
    expect(redactHeader('authorization', 'Basic dXNlcjpwYXNz')).toBe('Basic ***');
    expect(redactHeader('content-type', 'application/json')).toBe('application/json');
  });

  it('hides tokens in json and form bodies and anything shaped like a JWT', () => {
    const json = '{"token":"abc","access_token":"def","refresh_token":"ghi","expires_in":60}';
    const out = redactText(json);
    expect(out).not.toMatch(/abc|def|ghi/);
    expect(out).toContain('"expires_in":60');
    expect(redactText('grant_type=refresh_token&refresh_token=SECRET&service=x')).not.toContain('SECRET');
    expect(redactText('got eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln in reply')).toBe('got *** in reply');
    expect(redactText('header Basic dXNlcjpwYXNz here')).toBe('header Basic *** here');
    expect(redactText('Basic dXNlcjpwYXNzd29yZA==')).toBe('Basic ***');
    // A challenge is not a secret and stays readable.
    const challenge = 'www-authenticate: Bearer realm="https://auth.example/token",service="r.example"';
    expect(redactText(challenge)).toBe(challenge);
  });
});
