// Secret redaction for anything that may be printed: debug traces, error messages.
// Applied at the edge where a line is written, so no caller can forget it.

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-ms-acr-token']);
const SECRET_PARAMS = ['access_token', 'refresh_token', 'password', 'token', 'client_secret', 'identitytoken', 'id_token', 'code'];

/** `https://user:secret@host/x?access_token=…` → `https://user:***@host/x?access_token=***`. */
export function redactUrl(url: string): string {
  let out = url.replace(/(\/\/[^/@\s:]*:)[^/@\s]*@/g, '$1***@');
  for (const p of SECRET_PARAMS) {
    out = out.replace(new RegExp(`([?&]${p}=)[^&#\\s]*`, 'gi'), '$1***');
  }
  return out;
}

/** Header value as printable: auth schemes keep their name, never the credential. */
export function redactHeader(name: string, value: string): string {
  if (!SECRET_HEADERS.has(name.toLowerCase())) return value;
  const scheme = /^(\w+)\s/.exec(value)?.[1];
  return scheme ? `${scheme} ***` : '***';
}

/** JSON or form bodies: token-looking fields, and anything shaped like a JWT, become ***. */
export function redactText(text: string): string {
  let out = text;
  for (const p of SECRET_PARAMS) {
    out = out.replace(new RegExp(`("${p}"\\s*:\\s*")[^"]*`, 'gi'), '$1***');
    out = out.replace(new RegExp(`((?:^|[&?\\s])${p}=)[^&\\s]*`, 'gi'), '$1***');
  }
  // A credential after an auth scheme, but not a challenge's parameters (`Bearer realm="…"`).
  return out.replace(/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, '***').replace(/\b(Basic|Bearer)\s+(?![\w-]+=")[\w.~+/-]+=*/gi, '$1 ***');
}
