/** Shares as people read them: percent with one decimal (progress, `percent_cached`, messages and reports). */

/** `part` of `whole` in percent, rounded to one decimal; 0 for an empty whole. */
export function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((1000 * part) / whole) / 10 : 0;
}

/** A share (0..1) as text: 0.1234 -> `12.3 %`. */
export function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}
