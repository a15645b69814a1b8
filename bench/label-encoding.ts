/**
 * Label encoding: segmentation masks, pixel boxes and one-hot labels for random 256 x 256 windows of the Olinda
 * scene (452 land-cover polygons), with veda's encodeLabel against GDAL/OGR in Python: masks burned by
 * gdal.RasterizeLayer into a MEM dataset per window (what gdal_rasterize does), boxes and one-hot from OGR's
 * Intersection of each candidate feature with the window. Both sides load the labels once, outside the timing,
 * and find a window's candidates by its bounds (veda: its spatial index; OGR: a spatial filter).
 */
import { openImage } from '../domain/imagery/index.js';
import { encodeLabel, loadLabelSource, windowLabelContext } from '../domain/labels/index.js';
import type { MlType, PixelWindow } from '../domain/types.js';
import { OLINDA, windowRounds } from './fixtures.js';
import { compare, timeRounds, type BenchOptions, type Comparison } from './harness.js';
import { GDAL_PYTHON, PythonBaseline } from './python.js';

const TILE = 256;
const ENCODINGS: Array<{ mlType: MlType; name: string; baseline: string }> = [
  { mlType: 'segmentation', name: 'segmentation mask', baseline: 'GDAL RasterizeLayer' },
  { mlType: 'object_detection', name: 'pixel boxes', baseline: 'OGR Intersection' },
  { mlType: 'classification', name: 'one-hot', baseline: 'OGR Intersection' },
];

export async function benchLabelEncoding(options: BenchOptions): Promise<Comparison[]> {
  const { warmup, repeats, log } = options;
  const perRound = options.quick ? 32 : 128;
  const image = await openImage(OLINDA.image);
  const { info } = image;
  await image.close();
  const labels = await loadLabelSource(OLINDA.labels, { classes: OLINDA.classes, imageEpsg: info.epsg });
  const gdal = await PythonBaseline.start(GDAL_PYTHON, 'encode_labels.py', {
    labels: OLINDA.labels,
    classes: OLINDA.classes,
    geoTransform: info.geoTransform,
  });
  const rounds = windowRounds(info, TILE, perRound, warmup + repeats);
  const rows: Comparison[] = [];
  try {
    for (const { mlType, name, baseline } of ENCODINGS) {
      log(`label encoding: ${name}`);
      const rates = await timeRounds(rounds, warmup, {
        veda: async (windows: PixelWindow[]) => {
          for (const w of windows) encodeLabel(mlType, windowLabelContext(labels, info.geoTransform, w));
          return windows.length;
        },
        gdal: async (windows) => ({ items: windows.length, seconds: await gdal.round({ mlType, windows }) }),
      });
      rows.push(
        compare({
          bench: 'label encoding',
          case: `Olinda, ${name}, ${TILE}x${TILE}`,
          unit: 'windows/s',
          subject: 'veda',
          subjectRate: rates.veda,
          baseline,
          baselineRate: rates.gdal,
          settings: { 'per round': `${perRound} windows`, 'label features': labels.features.length },
        }),
      );
    }
  } finally {
    await gdal.close();
  }
  return rows;
}
