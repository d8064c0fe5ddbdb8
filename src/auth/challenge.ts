// `WWW-Authenticate` parsing (RFC 7235 §4.1, RFC 9110 §11.6.1):
//
//   WWW-Authenticate = 1#challenge
//   challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param       = token BWS "=" BWS ( token / quoted-string )
//   token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// Lenient: never throws; whatever cannot be parsed is skipped up to the next comma, and what did
// parse is returned. Unquoted values run to the next comma or whitespace, so a server that sends
// `realm=https://auth.example/token` still works.

export interface Challenge {
  /** Lower-cased: 'bearer', 'basic', … */
  scheme: string;
  /** Keys lower-cased; values as sent (unescaped). A token68 is kept as params['token68']. */
  params: Record<string, string>;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined || header === null) return [];
  const headers = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const h of headers) {
    if (typeof h === 'string') out.push(...parseOne(h));
  }
  return out;
}

function parseOne(input: string): Challenge[] {
  const p = new Parser(input);
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;

  // True at the start and after a comma: only there may a new challenge begin.
  let mayStartChallenge = true;
  while (true) {
    if (p.skipSeparators()) mayStartChallenge = true;
    if (p.done()) break;

    const start = p.pos;
    const token = p.token();
    if (token === '') {
      // Garbage: skip to the next comma outside a quoted string.
      p.skipToComma();
      continue;
    }
    p.skipWhitespace();

    if (p.peek() === '=') {
      if (current === undefined) {
        p.skipToComma(); // `name=value` before any scheme: not a challenge
        continue;
      }
      // Another auth-param of the current challenge (a missing comma between params is forgiven).
      p.pos++;
      p.skipWhitespace();
      setParam(current, token, p.value());
      mayStartChallenge = false;
      continue;
    }

    if (!mayStartChallenge) {
      // A bare word inside a challenge's parameters: garbage.
      p.skipToComma();
      continue;
    }

    // A new challenge: `token` was its scheme.
    current = { scheme: token.toLowerCase(), params: {} };
    challenges.push(current);
    mayStartChallenge = false;
    if (p.pos === start + token.length) continue; // nothing but a comma or the end follows

    // token68, if the whole element up to the next comma is one.
    const token68 = p.tryToken68();
    if (token68 !== undefined) current.params.token68 = token68;
    // Otherwise the loop reads auth-params (token BWS '=' …) for `current`.
  }
  return challenges;
}

function setParam(challenge: Challenge, name: string, value: string): void {
  const key = name.toLowerCase();
  // RFC 7235: each parameter name occurs once per challenge; keep the first if a server repeats one.
  if (!Object.prototype.hasOwnProperty.call(challenge.params, key)) challenge.params[key] = value;
}

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(): string | undefined {
    return this.s[this.pos];
  }

  skipWhitespace(): void {
    while (!this.done() && /\s/.test(this.s[this.pos] ?? '')) this.pos++;
  }

  /** Skips whitespace and commas; true if there was a comma. */
  skipSeparators(): boolean {
    let comma = false;
    while (!this.done() && /[\s,]/.test(this.s[this.pos] ?? '')) {
      if (this.s[this.pos] === ',') comma = true;
      this.pos++;
    }
    return comma;
  }


  token(): string {
    const start = this.pos;
    while (!this.done() && TCHAR.test(this.s[this.pos] ?? '')) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** A quoted-string (unescaped) or an unquoted value up to the next comma or whitespace. */
  value(): string {
    if (this.peek() === '"') return this.quoted();
    const start = this.pos;
    while (!this.done() && !/[\s,]/.test(this.s[this.pos] ?? '')) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** Reads a quoted-string; an unterminated one runs to the end of the header. */
  quoted(): string {
    this.pos++; // opening quote
    let out = '';
    while (!this.done()) {
      const c = this.s[this.pos] ?? '';
      if (c === '\\' && this.pos + 1 < this.s.length) {
        out += this.s[this.pos + 1];
        this.pos += 2;
        continue;
      }
      this.pos++;
      if (c === '"') return out;
      out += c;
    }
    return out;
  }

  /** If the text up to the next comma (or the end) is a token68, consumes and returns it. */
  tryToken68(): string | undefined {
    let i = this.pos;
    const start = i;
    while (i < this.s.length && TOKEN68_CHAR.test(this.s[i] ?? '')) i++;
    if (i === start) return undefined;
    while (i < this.s.length && this.s[i] === '=') i++;
    const end = i;
    while (i < this.s.length && /\s/.test(this.s[i] ?? '')) i++;
    if (i < this.s.length && this.s[i] !== ',') return undefined;
    // `name=` followed by a comma or the end is ambiguous; RFC 7235 reads it as a token68.
    this.pos = i;
    return this.s.slice(start, end);
  }

  /** Skips to the next comma that is not inside a quoted string. */
  skipToComma(): void {
    while (!this.done()) {
      const c = this.peek();
      if (c === ',') return;
      if (c === '"') {
        this.quoted();
        continue;
      }
      this.pos++;
    }
  }
}
