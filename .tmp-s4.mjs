import { fromFile } from 'geotiff';
import sharp from 'sharp';
for (const f of ['/tmp/imgx/j4.tif','/tmp/imgx/j2.tif']) {
  const t = await fromFile(f); const im = await t.getImage(0); const fd = im.fileDirectory;
  const tables = Buffer.from(await fd.loadValue('JPEGTables'));
  const off = Number(await fd.loadValueIndexed(im.isTiled ? 'TileOffsets':'StripOffsets', 0)); const n = Number(await fd.loadValueIndexed(im.isTiled ? 'TileByteCounts':'StripByteCounts', 0));
  const raw = Buffer.from((await t.source.fetch([{offset: off, length: n}]))[0]);
  const data = Buffer.concat([tables.subarray(0, tables.length-2), raw.subarray(2)]);
  try { const meta = await sharp(data).metadata(); console.log(f, meta.channels, meta.space); } catch (e) { console.log(f, 'meta err', e.message); }
  for (const cs of [undefined, 'cmyk', 'multiband']) {
    try { let s = sharp(data); if (cs) s = s.toColourspace(cs); const { info, data: out } = await s.raw().toBuffer({resolveWithObject:true}); console.log(cs, info.channels, Array.from(out.subarray(0,8))); } catch (e) { console.log(cs, 'err', e.message); }
  }
}
