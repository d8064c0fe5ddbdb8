// Medians and spreads: the machine is noisy, so only medians and ratios of medians are quoted.

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(values: number[]): Summary | undefined {
  const v = values.filter((x) => Number.isFinite(x));
  if (!v.length) return undefined;
  return { n: v.length, median: median(v), min: Math.min(...v), max: Math.max(...v) };
}

export function ratio(a: Summary | undefined, b: Summary | undefined): number | undefined {
  if (!a || !b || !b.median) return undefined;
  return a.median / b.median;
}

export function fmtSeconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? s.toFixed(2) : s.toFixed(1);
}

/** "1.23 s (1.10–1.40)" */
export function fmtTime(s: Summary | undefined): string {
  if (!s) return '–';
  return s.n > 1 ? `${fmtSeconds(s.median)} s (${fmtSeconds(s.min)}–${fmtSeconds(s.max)})` : `${fmtSeconds(s.median)} s`;
}

export function fmtMiB(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '–';
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

export function fmtRatio(r: number | undefined): string {
  return r === undefined || !Number.isFinite(r) ? '–' : `${r.toFixed(2)}×`;
}
