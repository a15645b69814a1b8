/**
 * pyveda's walkthrough in TypeScript: windows from `openImage(...).windows()`, fed with labels, saved, published,
 * found again, sliced, batched.
 *
 *   npx tsx examples/walkthrough.ts          (with `npx veda dev` running, or TEMPORAL_ADDRESS set)
 *
 * The label is binary classification, pyveda's default class `class1`: "this window shows water", read from the
 * window itself (near infrared, Landsat 7 band 4, below 25 on at least a tenth of it).
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Veda } from '../client/veda.js';
import { openImage } from '../client/image-windows.js';
import type { FeedItem } from '../client/collection.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const NIR = 4;

/** Runs the walkthrough on a connected Veda and returns what it saw (the test checks it). */
export async function walkthrough(veda: Veda, imagePath = path.join(here, 'data', 'L7_ETMs.tif')) {
  const coll = await veda.create({ name: 'olinda-water', mlType: 'classification', tileSize: [64, 64], sensors: ['Landsat 7 ETM+'] });

  // 125 distinct random windows, no need to know the image's size: 100 for train, 25 for test.
  const image = await openImage(imagePath);
  const pairs: FeedItem[] = [];
  for (const window of image.windows({ count: 125, shape: coll.tileSize, seed: 7 })) {
    const nir = (await image.read(window, [NIR])).data;
    const water = nir.filter((v) => v < 25).length >= nir.length / 10;
    pairs.push([window, [water ? 1 : 0]]);
  }
  await coll.feed(pairs.slice(0, 100), { group: 'train' });
  await coll.feed(pairs.slice(100), { group: 'test' });

  const saved = await coll.save(); // returns at once; percent_cached rises while the cache workflow runs
  await coll.save({ wait: true }); // ...or wait for it
  const doc = await coll.publish();

  const found = await veda.search({ name: 'olinda-water', mlType: 'classification' });
  const byId = await veda.fromId(doc.id);
  const byDoc = await veda.fromDoc(doc);

  const first = await byDoc.slice(0, 5);
  const chips = await Promise.all(first.map((pair) => pair.image()));
  for (const [i, pair] of first.entries()) {
    const chip = chips[i]!;
    console.log(`${pair.data.id} ${pair.data.group} window ${JSON.stringify(pair.data.window)} y=[${pair.y}] chip ${chip.bands}x${chip.height}x${chip.width} ${chip.dtype}`);
  }

  // 32 samples drawn at random from all groups; each keeps its own group (about 4/5 train here).
  const batch = await byId.batch(32);
  try {
    const five = batch.train.slice(0, 5);
    const labels = [...five].map(([, y]) => Array.from(y as Uint8Array));
    console.log(`batch: ${batch.path}, train ${batch.train.length} + test ${batch.test?.length ?? 0}; train[0:5] labels ${JSON.stringify(labels)}`);
    return {
      doc: await byId.doc(),
      savedPercent: saved.percent_cached,
      found: found.map((c) => c.id),
      pairs: first,
      chips,
      batch: { path: batch.path, train: batch.train.length, test: batch.test?.length ?? 0, five: five.length, labels },
    };
  } finally {
    batch.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const veda = await Veda.connect();
  try {
    const seen = await walkthrough(veda);
    console.log(`dataset ${seen.doc.id}: ${JSON.stringify(seen.doc.count)}, ${seen.doc.percent_cached}% cached, public ${seen.doc.public}`);
  } finally {
    await veda.close();
  }
  process.exit(0);
}
