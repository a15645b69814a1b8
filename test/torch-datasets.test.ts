/**
 * HDF5 for trainers: `box_offsets` beside `box_sample`, and the PyTorch Datasets of examples/veda_torch.py (shown in
 * README) reading real batch files with h5py and numpy. torch is not installed: a stand-in module gives the
 * snippet `Dataset` and `from_numpy`, so what is checked is the snippet's own indexing and dtypes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBatch, writeBatch, type BatchSample, type DetectionTarget, type MaskTarget } from '../domain/batches/index.js';
import { encodeRle } from '../domain/labels/index.js';
import type { Label, MlType } from '../domain/types.js';
import { GDAL_PYTHON } from './support/gdal.js';

const run = promisify(execFile);
const CLASSES = ['water', 'vegetation', 'urban'];
const [W, H, BANDS] = [6, 5, 2];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veda-torch-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Samples with labels of every shape: no boxes, several boxes of several classes, empty masks. */
function samples(mlType: MlType, n: number): BatchSample[] {
  return Array.from({ length: n }, (_, i): BatchSample => {
    let label: Label;
    if (mlType === 'classification') label = CLASSES.map((_, c) => Number((i + c) % 2 === 0));
    else if (mlType === 'segmentation') label = encodeRle(Uint8Array.from({ length: W * H }, (_, p) => (p * (i + 1)) % 4), W, H);
    else label = CLASSES.map((_, c) => Array.from({ length: (i + c) % 3 }, (_, k) => [k, c, k + 1 + c, c + 2 + i % 3] as [number, number, number, number]));
    return {
      id: `dp-${i}`, group: i % 4 === 3 ? 'test' : 'train', source: '/data/scene.tif', window: { x: i, y: 2 * i, width: W, height: H },
      image: { dtype: 'uint16', bands: BANDS, width: W, height: H, data: Uint16Array.from({ length: BANDS * W * H }, (_, p) => p * 7 + i) },
      label,
    };
  });
}

const PYTHON = `
import json, sys, types
import numpy as np
# A stand-in for torch: the snippet needs only Dataset and from_numpy.
torch = types.ModuleType('torch'); data = types.ModuleType('torch.utils.data'); utils = types.ModuleType('torch.utils')
torch.from_numpy = lambda a: np.asarray(a); data.Dataset = object; utils.data = data; torch.utils = utils
sys.modules.update({'torch': torch, 'torch.utils': utils, 'torch.utils.data': data})
sys.path.insert(0, sys.argv[1])
import veda_torch
kind, path, group = sys.argv[2:5]
ds = getattr(veda_torch, kind)(path, group)
out = []
for i in range(len(ds)):
    x, y = ds[i]
    item = {'x': x.tolist(), 'xdtype': str(x.dtype)}
    if isinstance(y, dict):
        item['boxes'], item['labels'] = y['boxes'].tolist(), y['labels'].tolist()
        item['ydtype'] = [str(y['boxes'].dtype), str(y['labels'].dtype)]
    else:
        item['y'], item['ydtype'] = y.tolist(), str(y.dtype)
    out.append(item)
print(json.dumps({'length': len(ds), 'classes': ds.classes, 'items': out}))
`;

interface PyItem {
  x: number[][][];
  xdtype: string;
  y?: number[] | number[][];
  ydtype: string | string[];
  boxes?: number[][];
  labels?: number[];
}

async function viaSnippet(kind: string, path: string, group: string): Promise<{ length: number; classes: string[]; items: PyItem[] }> {
  const { stdout } = await run(GDAL_PYTHON, ['-c', PYTHON, resolve('examples'), kind, path, group], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as { length: number; classes: string[]; items: PyItem[] };
}

/** [bands, h, w] nested lists of a flat band-sequential image. */
const nested = (data: ArrayLike<number>) =>
  Array.from({ length: BANDS }, (_, b) => Array.from({ length: H }, (_, r) => Array.from({ length: W }, (_, c) => data[b * W * H + r * W + c]!)));

const KINDS: Array<[MlType, string]> = [['classification', 'VedaClassification'], ['segmentation', 'VedaSegmentation'], ['object_detection', 'VedaDetection']];

describe('batches for trainers', () => {
  it("store box_offsets [n + 1] beside box_sample, so a sample's boxes are one contiguous slice", async () => {
    const path = join(dir, 'offsets.h5');
    const fed = samples('object_detection', 9);
    await writeBatch(path, { dataset: {}, classes: CLASSES, mlType: 'object_detection', seed: 0, inputs: {} }, fed);
    const script = `
import h5py, json, sys, numpy as np
g = h5py.File(sys.argv[1], 'r')['train']
o, s = g['box_offsets'][:], g['box_sample'][:]
print(json.dumps({'dtype': str(o.dtype), 'offsets': o.tolist(), 'searchsorted': np.searchsorted(s, np.arange(len(g['images']) + 1)).tolist()}))`;
    const { stdout } = await run(GDAL_PYTHON, ['-c', script, path]);
    const seen = JSON.parse(stdout) as { dtype: string; offsets: number[]; searchsorted: number[] };
    const train = fed.filter((s) => s.group === 'train');
    const counts = train.map((s) => (s.label as unknown[][]).flat().length);
    expect(seen.dtype).toBe('int64');
    expect(seen.offsets).toEqual([0, ...counts.map((_, i) => counts.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
    expect(seen.offsets).toEqual(seen.searchsorted);
    const batch = await openBatch(path);
    try {
      expect([...batch.train].map(([, y]) => (y as DetectionTarget).length)).toEqual(counts);
    } finally {
      batch.close();
    }
  });

  for (const [mlType, kind] of KINDS) {
    it(`README's ${kind} (examples/veda_torch.py) reads every sample of a ${mlType} batch as veda's reader does`, async () => {
      const path = join(dir, `${mlType}.h5`);
      await writeBatch(path, { dataset: {}, classes: CLASSES, mlType, seed: 0, inputs: {} }, samples(mlType, 12));
      const batch = await openBatch(path);
      try {
        for (const group of ['train', 'test']) {
          const py = await viaSnippet(kind, path, group);
          const ours = [...batch.groups[group]!];
          expect(py.length).toBe(ours.length);
          expect(py.classes).toEqual(CLASSES);
          py.items.forEach((item, i) => {
            const [x, y] = ours[i]!;
            expect(item.xdtype).toBe('float32');
            expect(item.x).toEqual(nested(x.data));
            if (mlType === 'classification') {
              expect(item).toMatchObject({ ydtype: 'float32', y: Array.from(y as Uint8Array) });
            } else if (mlType === 'segmentation') {
              const mask = y as MaskTarget;
              expect(item.ydtype).toBe('int64');
              expect(item.y).toEqual(Array.from({ length: H }, (_, r) => Array.from(mask.data.subarray(r * W, (r + 1) * W))));
            } else {
              const boxes = y as DetectionTarget;
              expect(item.ydtype).toEqual(['float32', 'int64']);
              expect(item.boxes).toEqual(boxes.map((b) => b.box));
              expect(item.labels).toEqual(boxes.map((b) => b.class + 1));
            }
          });
        }
      } finally {
        batch.close();
      }
    });
  }

  it('README shows examples/veda_torch.py as it is', async () => {
    const [readme, snippet] = await Promise.all([readFile('README.md', 'utf8'), readFile('examples/veda_torch.py', 'utf8')]);
    const body = snippet.slice(snippet.indexOf('import json'));
    expect(readme).toContain(body.trim());
  });
});
