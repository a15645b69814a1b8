/**
 * The whole measuring policy of the benchmarks: every subject (veda and its baselines) runs the same rounds,
 * interleaved round by round in a rotating order so a busy machine slows them alike; a few warm-up rounds are
 * untimed, and a subject's rate is its median over the timed rounds.
 */
import { performance } from 'node:perf_hooks';

/** Items per second: the median over the timed rounds, and each round's rate. */
export interface Rate {
  median: number;
  rounds: number[];
}

/** Does one round and returns how many items it did, or also its own timing (a baseline timed inside Python). */
export type Subject<T> = (round: T) => Promise<number | { items: number; seconds: number }>;

export async function timeRounds<T, S extends string>(
  rounds: readonly T[],
  warmup: number,
  subjects: Record<S, Subject<T>>,
): Promise<Record<S, Rate>> {
  const names = Object.keys(subjects) as S[];
  const rates = new Map<S, number[]>(names.map((name) => [name, []]));
  for (const [i, round] of rounds.entries()) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length]!;
      const start = performance.now();
      const done = await subjects[name](round);
      const elapsed = (performance.now() - start) / 1000;
      const { items, seconds } = typeof done === 'number' ? { items: done, seconds: elapsed } : done;
      if (i >= warmup) rates.get(name)!.push(items / seconds);
    }
  }
  return Object.fromEntries(names.map((name) => [name, rateOf(rates.get(name)!)])) as Record<S, Rate>;
}

function rateOf(rates: number[]): Rate {
  if (rates.length === 0) throw new Error('no timed round: repeats must be at least 1');
  const sorted = [...rates].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, rounds: rates };
}

/** One line of the report: veda (the subject) against one baseline measured in the same run. */
export interface Comparison {
  bench: string;
  case: string;
  unit: string;
  subject: string;
  subjectRate: Rate;
  baseline: string;
  baselineRate: Rate;
  /** subject / baseline: above 1, veda is faster. */
  ratio: number;
  /** What the subject ran with, when it has knobs (printed under the table). */
  settings?: Record<string, string | number>;
}

export function compare(fields: Omit<Comparison, 'ratio'>): Comparison {
  return { ...fields, ratio: fields.subjectRate.median / fields.baselineRate.median };
}

/** How much work a run does: `quick` trims rounds and sizes so `npm run bench -- --quick` is a smoke run. */
export interface BenchOptions {
  quick: boolean;
  warmup: number;
  repeats: number;
  /** Scratch space for fixtures and outputs (bench/.out, git-ignored). */
  outDir: string;
  /** Progress lines for the person waiting (stderr, so --json stays clean). */
  log: (line: string) => void;
  /** `--windows N`: windows per round of the pipeline and end-to-end benches instead of their own default. */
  windows?: number;
}

/** The report as an aligned text table. */
export function formatTable(rows: readonly Comparison[]): string {
  const header = ['bench', 'case', 'veda', 'baseline', 'veda / baseline'];
  const cells = rows.map((r) => [
    r.bench,
    r.case,
    `${r.subject} ${formatRate(r.subjectRate.median)} ${r.unit}`,
    `${r.baseline} ${formatRate(r.baselineRate.median)}`,
    `${r.ratio.toFixed(2)}x`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  // Text left-aligned, the ratio column right-aligned.
  const line = (row: string[]) =>
    row.map((cell, c) => (c === row.length - 1 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ');
  const settings = new Map(rows.filter((r) => r.settings).map((r) => [r.bench, r.settings!]));
  const notes = [...settings].map(([bench, s]) => `${bench}: ${Object.entries(s).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line), '', ...notes].join('\n');
}

function formatRate(rate: number): string {
  return rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2);
}
