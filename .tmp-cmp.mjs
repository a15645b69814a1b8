import { fromFile } from 'geotiff';
import { execFileSync } from 'node:child_process';
for (const f of process.argv.slice(2)) {
  const t = await fromFile(f);
  const im = await t.getImage(0);
  const w = im.getWidth(), h = im.getHeight(), n = im.getSamplesPerPixel();
  const r = await im.readRasters();
  const ref = execFileSync('/usr/bin/python3', ['-c', `import sys; from osgeo import gdal; ds=gdal.Open('${f}'); sys.stdout.buffer.write(ds.ReadAsArray().tobytes())`], {maxBuffer: 1<<30});
  let max = 0, cnt = 0;
  for (let b = 0; b < n; b++) for (let i = 0; i < w*h; i++) { const d = Math.abs(r[b][i] - ref[b*w*h+i]); if (d>max) max=d; if (d) cnt++; }
  console.log(f, 'maxdiff', max, 'ndiff', cnt, 'of', n*w*h);
}
