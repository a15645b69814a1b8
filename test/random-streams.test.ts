/** The seeded generator's streams (domain/random/streams.ts): no two draws of veda share one. */
import { describe, expect, it } from 'vitest';
import * as streams from '../domain/random/streams.js';

/** Every stream a draw of veda can use, with who uses it. */
function allStreams(): Array<[number, string]> {
  const out: Array<[number, string]> = [
    [streams.BATCH_SELECTION_STREAM, 'batch selection'],
    [streams.FEATURE_ORDER_STREAM, 'feature order'],
    [streams.FEATURE_JITTER_X_STREAM, 'feature jitter x'],
    [streams.FEATURE_JITTER_Y_STREAM, 'feature jitter y'],
    [streams.CELL_DRAW_STREAM, 'cell draw'],
    [streams.SPLIT_SHUFFLE_STREAM, 'split shuffle'],
  ];
  for (let round = 0; round < 4; round++) out.push([streams.RANDOM_POSITION_STREAMS + round, `random positions round ${round}`]);
  for (let g = 0; g < streams.MAX_SPLIT_GROUPS; g++) {
    const s = streams.cellGroupStreams(g);
    out.push([s.featureOrder, `group ${g} feature order`], [s.jitterX, `group ${g} jitter x`], [s.jitterY, `group ${g} jitter y`]);
    for (let round = 0; round < 4; round++) out.push([s.positions + round, `group ${g} positions round ${round}`]);
  }
  return out;
}

describe('the streams of the seeded generator', () => {
  it('are never used by two draws', () => {
    const users = new Map<number, string[]>();
    for (const [stream, who] of allStreams()) users.set(stream, [...(users.get(stream) ?? []), who]);
    expect([...users.entries()].filter(([, who]) => who.length > 1)).toEqual([]);
  });

  it('leave the epoch shuffles a range of their own', () => {
    const first = streams.EPOCH_STREAMS;
    const last = streams.EPOCH_STREAMS + streams.MAX_EPOCHS - 1;
    expect(allStreams().filter(([stream]) => stream >= first && stream <= last)).toEqual([]);
  });
});
