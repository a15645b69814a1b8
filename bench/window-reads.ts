/**
 * Window reads: random 256 x 256 windows (all bands) from GDAL-made files, with veda's openImage().readWindow
 * against geotiff's own readRasters({ window }) (the library veda builds on, default path) and GDAL's ReadAsArray
 * (timed in Python). Each round opens the file, reads its windows and closes it, as a chunk activity does.
 */
import { fromFile } from 'geotiff';
import { openImage } from '../domain/imagery/index.js';
import type { PixelWindow } from '../domain/types.js';
import { readFixtures, windowRounds } from './fixtures.js';
import { compare, timeRounds, type BenchOptions, type Comparison } from './harness.js';
import { GDAL_PYTHON, PythonBaseline } from './python.js';

const TILE = 256;

export async function benchWindowReads(options: BenchOptions): Promise<Comparison[]> {
  const { warmup, repeats, log } = options;
  const perRound = options.quick ? 8 : 32;
  const rows: Comparison[] = [];
  for (const fixture of await readFixtures(options.outDir)) {
    log(`window reads: ${fixture.name}`);
    const probe = await openImage(fixture.path);
    const rounds = windowRounds(probe.info, TILE, perRound, warmup + repeats);
    await probe.close();
    const gdal = await PythonBaseline.start(GDAL_PYTHON, 'read_windows.py', { path: fixture.path });
    const rates = await timeRounds(rounds, warmup, {
      veda: (windows) => readWithVeda(fixture.path, windows),
      geotiff: (windows) => readWithGeotiff(fixture.path, windows),
      gdal: async (windows) => ({ items: windows.length, seconds: await gdal.round(windows) }),
    }).finally(() => gdal.close());
    const common = {
      bench: 'window reads',
      case: `${fixture.name}, ${TILE}x${TILE}`,
      unit: 'windows/s',
      subject: 'veda',
      subjectRate: rates.veda,
      settings: { 'per round': `open the file, read ${perRound} windows (all bands), close it` },
    };
    rows.push(
      compare({ ...common, baseline: 'geotiff readRasters', baselineRate: rates.geotiff }),
      compare({ ...common, baseline: 'GDAL ReadAsArray', baselineRate: rates.gdal }),
    );
  }
  return rows;
}

async function readWithVeda(file: string, windows: PixelWindow[]): Promise<number> {
  const image = await openImage(file);
  try {
    for (const w of windows) await image.readWindow(w);
  } finally {
    await image.close();
  }
  return windows.length;
}

async function readWithGeotiff(file: string, windows: PixelWindow[]): Promise<number> {
  const tiff = await fromFile(file);
  try {
    const image = await tiff.getImage();
    for (const w of windows) await image.readRasters({ window: [w.x, w.y, w.x + w.width, w.y + w.height] });
  } finally {
    await tiff.close();
  }
  return windows.length;
}
