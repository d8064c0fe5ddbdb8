// Secret redaction for anything that may be printed: debug traces, error messages, library logs.
// Applied at the edge where a line is written, so no caller can forget it.

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-ms-acr-token', 'x-amz-security-token']);
/** Query and form parameters: OAuth2 grants, and the signatures of pre-signed blob-store URLs (Azure SAS, S3, GCS). */
const SECRET_PARAMS = [
  'access_token',
  'refresh_token',
  'password',
  'token',
  'client_secret',
  'identitytoken',
  'id_token',
  'code',
  'sig',
  'x-amz-signature',
  'x-amz-security-token',
  'x-goog-signature',
];
/** JSON keys, in any case: OAuth2 answers, docker config entries, Azure SDK objects. */
const SECRET_KEYS = [...SECRET_PARAMS, 'secret', 'accesstoken', 'refreshtoken', 'auth', 'registrytoken', 'clientsecret'];

const escape = (s: string) => s.replace(/[-[\]{}()*+?.,\\^$|#]/g, '\\$&');
const PARAM_ALT = SECRET_PARAMS.map(escape).join('|');
const KEY_ALT = SECRET_KEYS.map(escape).join('|');

// `"key": "value"`, the value running to its closing quote past escaped quotes (`\"`).
const JSON_VALUE = new RegExp(`("(?:${KEY_ALT})"\\s*:\\s*")(?:[^"\\\\]|\\\\.)*`, 'gi');
// The same inside a JSON string that holds JSON (`{\"auth\":\"…\"}`): the value ends at `\"`.
const ESCAPED_JSON_VALUE = new RegExp(`(\\\\"(?:${KEY_ALT})\\\\"\\s*:\\s*\\\\")(?:(?!\\\\")[^"])*`, 'gi');
const URL_PARAM = new RegExp(`([?&](?:${PARAM_ALT})=)[^&#\\s"']*`, 'gi');
const FORM_PARAM = new RegExp(`((?:^|[&?\\s])(?:${PARAM_ALT})=)[^&\\s"']*`, 'gi');
// Userinfo in a URL: `user:secret@` keeps the user; a lone `token@` is all secret.
const USERINFO_PASSWORD = /(\/\/[^/@\s:]*:)[^/@\s]*@/g;
const USERINFO_TOKEN = /(\/\/)[^/@\s:]+@/g;

/** `https://user:secret@host/x?access_token=…&sig=…` → `https://user:***@host/x?access_token=***&sig=***`. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO_PASSWORD, '$1***@').replace(USERINFO_TOKEN, '$1***@').replace(URL_PARAM, '$1***');
}

/** Header value as printable: auth schemes keep their name, never the credential. */
export function redactHeader(name: string, value: string): string {
  if (!SECRET_HEADERS.has(name.toLowerCase())) return value;
  const scheme = /^(\w+)\s/.exec(value)?.[1];
  return scheme ? `${scheme} ***` : '***';
}

/** JSON, form bodies or free text: token-looking fields, URL secrets, and anything shaped like a JWT, become ***. */
export function redactText(text: string): string {
  const out = text
    .replace(JSON_VALUE, '$1***')
    .replace(ESCAPED_JSON_VALUE, '$1***')
    .replace(USERINFO_PASSWORD, '$1***@')
    .replace(USERINFO_TOKEN, '$1***@')
    .replace(FORM_PARAM, '$1***');
  // A credential after an auth scheme, but not a challenge's parameters (`Bearer realm="…"`).
  return out.replace(/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, '***').replace(/\b(Basic|Bearer)\s+(?![\w-]+=")[\w.~+/-]+=*/gi, '$1 ***');
}
