import { openImage } from './domain/imagery/index.js';
import { execFileSync } from 'node:child_process';
for (const f of process.argv.slice(2)) {
  const src = await openImage(f);
  const { width: w, height: h, bands: n } = src.info;
  const t0 = performance.now();
  const r = await src.readWindow({ x: 0, y: 0, width: w, height: h });
  const t1 = performance.now();
  const ref = execFileSync('/usr/bin/python3', ['-c', `import sys; from osgeo import gdal; ds=gdal.Open('${f}'); sys.stdout.buffer.write(ds.ReadAsArray().tobytes())`], {maxBuffer: 1<<30});
  const a = new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  let max = 0, cnt = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i]! - ref[i]!); if (d>max) max=d; if (d) cnt++; }
  console.log(f, JSON.stringify(src.info), r.dtype, 'maxdiff', max, 'ndiff', cnt, (t1-t0).toFixed(1)+'ms');
  await src.close();
}
