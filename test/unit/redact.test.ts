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

describe('redaction of what registries, blob stores and Azure put in text', () => {
  it('hides JSON secrets under any of their keys, in any case, past escaped quotes and inside escaped JSON', () => {
    const secrets = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7'];
    const json = `{"Secret":"S1","client_secret":"S2","accessToken":"S3","RefreshToken":"S4","auth":"S5","IdentityToken":"S6","password":"ab\\"S7\\"cd","user":"kept"}`;
    const out = redactText(json);
    for (const s of secrets) expect(out).not.toContain(s);
    expect(out).toContain('"user":"kept"');
    // JSON held in a JSON string (a docker config quoted in an error, an SDK log line).
    const nested = JSON.stringify({ message: JSON.stringify({ auths: { 'r.example': { auth: 'dXNlcjpzZWNyZXQ=' } }, clientSecret: 'NestedSecret' }) });
    const redacted = redactText(nested);
    expect(redacted).not.toContain('dXNlcjpzZWNyZXQ=');
    expect(redacted).not.toContain('NestedSecret');
    expect(redacted).toContain('r.example');
  });

  it('hides the signatures of pre-signed blob-store URLs (Azure SAS, S3, GCS), and token-only userinfo', () => {
    const sas = 'https://acct.blob.core.windows.net/c/b?sv=2023-01-03&se=2026-01-01&sr=b&sp=r&sig=AbCdEf%2Bsecret%3D';
    expect(redactUrl(sas)).toBe('https://acct.blob.core.windows.net/c/b?sv=2023-01-03&se=2026-01-01&sr=b&sp=r&sig=***');
    const s3 = 'https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Security-Token=SessTok&X-Amz-Signature=deadbeef';
    expect(redactUrl(s3)).toBe('https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Security-Token=***&X-Amz-Signature=***');
    expect(redactUrl('https://storage.googleapis.com/b/o?X-Goog-Signature=c0ffee&X-Goog-Date=1')).toBe('https://storage.googleapis.com/b/o?X-Goog-Signature=***&X-Goog-Date=1');
    expect(redactUrl('https://ghp_TokenOnly123@proxy.example:8080/')).toBe('https://***@proxy.example:8080/');
    // The same inside free text (an error quoting a redirect).
    expect(redactText(`GET ${sas} failed`)).not.toContain('AbCdEf');
    expect(redactText('proxy http://user:ProxyPass@127.0.0.1:3128 refused')).toBe('proxy http://user:***@127.0.0.1:3128 refused');
    expect(redactText('via https://ghp_TokenOnly123@proxy.example/')).not.toContain('ghp_TokenOnly123');
    expect(redactHeader('X-Amz-Security-Token', 'SessTok')).toBe('***');
  });
});
