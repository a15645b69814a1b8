/**
 * Balanced classes. A quota cannot be decided from the image metadata alone (it depends on the labels), so a
 * balanced ingest plans *candidates* (a random plan many times larger than asked, still a pure function of the
 * inputs), and one activity scans them in plan order, keeping a candidate when the quota allows it. The picks
 * (candidate indexes, ascending) travel with the chunks, each chunk getting only its slice: a retried chunk
 * makes the same windows and ids, and a re-run scans the same candidates in the same order to the same picks.
 */
import { partitionCounts } from '../batches/partition.js';
import { InvalidInputError } from '../errors.js';
import { formatShare } from '../percent.js';
import type { GroupCount, Label, MlType, PlannedWindow, SegmentationLabel, WindowPlan } from '../types.js';
import { groupCapacity, type CellLayout } from './cell-layout.js';
import type { ImageSize } from './window-sequence.js';

/** Candidates per window asked for, at most. */
const OVERSAMPLE = 50;
/** Balanced ingests pick at most this many windows: the picks travel through the workflow history. */
export const MAX_BALANCED = 50_000;

export interface Balance {
  /** Classification / detection: class ratios of each group's count ({ water: 1, urban: 1 }), or 'equal'. */
  classes?: Record<string, number> | 'equal';
  /** Segmentation: the minimum share of labelled (non-background) pixels in a window. */
  minLabelled?: number;
}

export interface BalanceResult {
  /** Candidate indexes kept, ascending. */
  picks: number[];
  /** Per group: windows kept, and per class the windows (or boxes' windows) that count for it. */
  groups: Record<string, { windows: number; classes: Record<string, number> }>;
}

/** The candidate plan: the random plan with each group's count grown as far as its room allows. */
export function candidatePlan(
  image: ImageSize,
  plan: WindowPlan,
  groups: readonly GroupCount[],
  layout?: CellLayout,
): { plan: WindowPlan; groups: GroupCount[] } {
  if (plan.strategy !== 'random') throw new InvalidInputError(`balanced classes draw from a random plan, not ${plan.strategy}`);
  const total = groups.reduce((n, g) => n + g.count, 0);
  if (total > MAX_BALANCED) throw new InvalidInputError(`a balanced ingest takes at most ${MAX_BALANCED} windows (asked: ${total})`);
  const [w, h] = plan.tileSize;
  let counts: number[];
  if (layout) {
    const room = groupCapacity(layout, image, plan.tileSize);
    counts = groups.map((g, i) => Math.min(g.count * OVERSAMPLE, room[i] ?? 0, 1_000_000));
  } else {
    const positions = (image.width - w + 1) * (image.height - h + 1);
    const factor = Math.max(1, Math.min(OVERSAMPLE, Math.floor(Math.min(positions, 1_000_000) / Math.max(total, 1))));
    counts = groups.map((g) => g.count * factor);
  }
  const candidates = groups.map((g, i) => ({ group: g.group, count: counts[i]! }));
  return { plan: { ...plan, count: counts.reduce((a, b) => a + b, 0) }, groups: candidates };
}

/**
 * Scans candidates in plan order. Classification / detection: a window counts for every class its label has
 * (detection: a box of it); it is kept when every class it counts for still has room, until every quota is met,
 * taking windows of one class before windows of two, and so on (the scan reads every candidate of the group).
 * Segmentation: kept when its labelled share reaches `minLabelled`, until the group's count. A group whose
 * candidates run out first is an InvalidInputError saying what it got of each quota.
 */
export function selectBalanced(args: {
  mlType: MlType;
  classes: readonly string[];
  balance: Balance;
  /** The groups as asked (their counts). */
  groups: readonly GroupCount[];
  /** The candidate groups (candidatePlan) and a reader of candidate windows [start, end). */
  candidateGroups: readonly GroupCount[];
  candidates: (start: number, end: number) => PlannedWindow[];
  label: (window: PlannedWindow) => Label;
  onProgress?: (scanned: number) => void;
}): BalanceResult {
  const { mlType, classes, balance } = args;
  const segmentation = mlType === 'segmentation';
  if (segmentation && balance.classes) throw new InvalidInputError('segmentation balances by labelled share (minLabelled), not class quotas');
  if (!segmentation && balance.minLabelled !== undefined) throw new InvalidInputError('minLabelled applies to segmentation; classification and detection take class quotas');
  if (segmentation && !(typeof balance.minLabelled === 'number' && balance.minLabelled >= 0 && balance.minLabelled <= 1)) {
    throw new InvalidInputError(`minLabelled ${String(balance.minLabelled)} must be a share between 0 and 1`);
  }
  const ratios = segmentation ? {} : classRatios(balance.classes, classes);
  const picks: number[] = [];
  const result: BalanceResult['groups'] = {};
  let start = 0;
  let scanned = 0;
  args.groups.forEach((group, g) => {
    const span = args.candidateGroups[g]!.count;
    const quota = segmentation ? {} : partitionCounts(group.count, ratios);
    const got: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
    let kept = 0;
    const done = () => (segmentation ? kept >= group.count : Object.entries(quota).every(([c, q]) => got[c]! >= q));
    // Classes: every candidate's classes first, then windows of fewer classes before windows of more (in plan
    // order within each), so windows that fill one quota only are used before those that fill several at once.
    const tiers: Array<Array<{ index: number; present: number[] }>> = [];
    for (let at = start; at < start + span && !done(); at += 256) {
      for (const w of args.candidates(at, Math.min(at + 256, start + span))) {
        if (done()) break;
        const label = args.label(w);
        if (segmentation) {
          if (labelledShare(label as SegmentationLabel) < balance.minLabelled!) continue;
          kept++;
          picks.push(w.index);
          continue;
        }
        const present = presentClasses(label, mlType);
        if (present.length > 0) (tiers[present.length] ??= []).push({ index: w.index, present });
      }
      scanned += Math.min(256, start + span - at);
      args.onProgress?.(scanned);
    }
    if (!segmentation) {
      const mine: number[] = [];
      for (const tier of tiers) {
        for (const { index, present } of tier ?? []) {
          if (done()) break;
          if (present.some((i) => got[classes[i]!]! >= (quota[classes[i]!] ?? 0))) continue;
          for (const i of present) got[classes[i]!]!++;
          kept++;
          mine.push(index);
        }
      }
      picks.push(...mine.sort((a, b) => a - b));
    }
    if (!done()) {
      const detail = segmentation
        ? `${kept} of ${group.count} windows with at least ${formatShare(balance.minLabelled!)} labelled pixels`
        : Object.entries(quota).map(([c, q]) => `${c} ${got[c]}/${q}`).join(', ');
      throw new InvalidInputError(
        `group '${group.group}' cannot meet its quota after ${span} candidate windows: ${detail}. Lower the count or the quota, or widen the area`,
      );
    }
    result[group.group] = { windows: kept, classes: segmentation ? {} : got };
    start += span;
  });
  return { picks, groups: result };
}

function classRatios(spec: Balance['classes'], classes: readonly string[]): Record<string, number> {
  if (spec === undefined || spec === 'equal') return Object.fromEntries(classes.map((c) => [c, 1]));
  for (const name of Object.keys(spec)) {
    if (!classes.includes(name)) throw new InvalidInputError(`balance names class '${name}', which is not one of ${classes.join(', ')}`);
  }
  return Object.fromEntries(classes.map((c) => [c, spec[c] ?? 0]));
}

function presentClasses(label: Label, mlType: MlType): number[] {
  const out: number[] = [];
  if (mlType === 'classification') (label as number[]).forEach((v, i) => v && out.push(i));
  else (label as unknown[][]).forEach((boxes, i) => boxes.length > 0 && out.push(i));
  return out;
}

function labelledShare(label: SegmentationLabel): number {
  let labelled = 0;
  for (let k = 0; k + 1 < label.runs.length; k += 2) if (label.runs[k]! !== 0) labelled += label.runs[k + 1]!;
  return labelled / (label.width * label.height);
}
