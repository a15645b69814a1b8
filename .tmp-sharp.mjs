import { fromFile, addDecoder, BaseDecoder } from 'geotiff';
import sharp from 'sharp';
import { execFileSync } from 'node:child_process';
class SharpJpeg extends BaseDecoder {
  constructor(p) { super(p); this.tables = p.JPEGTables ? Buffer.from(p.JPEGTables.buffer ? new Uint8Array(p.JPEGTables) : p.JPEGTables) : null; }
  async decodeBlock(buffer) {
    let data = Buffer.from(buffer);
    if (this.tables) data = Buffer.concat([this.tables.subarray(0, this.tables.length - 2), data.subarray(2)]);
    const { data: out, info } = await (this.parameters.planarConfiguration === 2 || this.parameters.bitsPerSample.length === 1 ? sharp(data).toColourspace("b-w") : sharp(data)).raw().toBuffer({ resolveWithObject: true }); if (!globalThis.once) { globalThis.once=1; console.log(info, this.parameters.tileWidth, this.parameters.tileHeight); }
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  }
}
addDecoder(7, async () => SharpJpeg, async (fd) => ({ tileWidth: fd.hasTag('StripOffsets') ? await fd.loadValue('ImageWidth') : await fd.loadValue('TileWidth'), tileHeight: fd.hasTag('StripOffsets') ? (await fd.loadValue('RowsPerStrip')||await fd.loadValue('ImageLength')) : await fd.loadValue('TileLength'), planarConfiguration: await fd.loadValue('PlanarConfiguration'), bitsPerSample: await fd.loadValue('BitsPerSample'), predictor: 1, JPEGTables: await fd.loadValue('JPEGTables') }), false);
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
