// Text a registry controls (error messages, challenge fields, media types, URLs, platforms,
// annotations) made safe to show on a terminal or in a CI log: no escape sequences that rewrite
// the screen, no line breaks or prefixes that forge CI workflow commands (`::set-output`,
// `##vso[`), no bidirectional overrides, and a length cap against log floods.
// Hand-written: strip-ansi only covers escape sequences, and the CI prefixes are specific to us.

/** Longest registry text shown inside one message. */
export const SHOWN_MAX = 300;

// CSI (ESC [ … final), OSC (ESC ] … BEL or ST) and other two-character ESC sequences, then 8-bit CSI.
const ESCAPE_SEQUENCES = /\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]?/g;
// C0 controls (tab and line breaks included), DEL, C1 controls, Unicode line/paragraph separators,
// and the bidirectional overrides and isolates that reorder what a reader sees.
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_BUT_NEWLINE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// GitHub Actions reads `::command` at the start of a line; Azure Pipelines `##vso[` and `##[` anywhere.
const GITHUB_COMMAND = /^(\s*):(?=:)/;
const AZURE_PIPELINES_COMMAND = /##(?=vso\[|\[)/gi;

function neutralise(line: string): string {
  return line.replace(GITHUB_COMMAND, '$1: ').replace(AZURE_PIPELINES_COMMAND, '# #');
}

/** At most `max` characters; `total` is the length of the text before it was cleaned, when it was cut early. */
function cap(text: string, max: number, total?: number): string {
  const chars = Array.from(text);
  if (chars.length <= max && total === undefined) return text;
  return `${chars.slice(0, max).join('')}… (cut: ${total ?? chars.length} characters in all)`;
}

/**
 * One line of registry text, safe to put into a message: controls and line breaks become spaces,
 * escape sequences go, CI workflow prefixes are broken, and at most `max` characters are kept.
 */
export function sanitize(text: string, max = SHOWN_MAX): string {
  // Bounded work on a flood: nothing far past the cap is looked at.
  const head = text.slice(0, max * 4 + 64);
  const line = head.replace(ESCAPE_SEQUENCES, '').replace(CONTROLS, ' ').replace(/ {2,}/g, ' ').trim();
  return cap(neutralise(line), max, head === text ? undefined : text.length);
}

/**
 * A whole message about to be printed (it may hold registry text nobody sanitised): its own line
 * breaks are kept, every line is cleaned as `sanitize` does and capped at `maxLine` characters.
 */
export function sanitizeForDisplay(text: string, maxLine = 4000): string {
  return text
    .replace(ESCAPE_SEQUENCES, '')
    .replace(/\r\n?/g, '\n')
    .replace(CONTROLS_BUT_NEWLINE, ' ')
    .split('\n')
    .map((l) => cap(neutralise(l), maxLine))
    .join('\n');
}
