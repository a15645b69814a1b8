/**
 * The walkthrough: a classification dataset on the Olinda Landsat 7 scene, built by durable Temporal workflows.
 *
 *   npm start
 *
 * Starts a local Temporal dev server (unless TEMPORAL_ADDRESS is set), the embedded catalog (unless DATABASE_URL
 * is set) and a worker, then creates the dataset, ingests 100 random 64x64 windows into `train` and 25 into
 * `test` with labels from the land-cover polygons, spatially split (train and test windows lie in separate cells of
 * the image, 8 px apart), caches the chips, checks for leakage, and prints what a user would look at.
 * It keeps its data where the CLI looks (VEDA_DATA_DIR, default ~/.veda), so `npx veda search` finds its dataset;
 * with a `veda dev` running there it joins that server instead of starting its own.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { loadConfig } from '../config/config.js';
import { followWithBars } from '../client/progress-bars.js';
import { describeLeakage } from '../client/leakage-report.js';
import { startLocalStack } from '../stack/local-stack.js';
import { readDevState } from '../runtime/dev-state.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const image = path.join(here, 'data', 'L7_ETMs.tif');
const labels = path.join(here, 'data', 'landcover.geojson');

async function main(): Promise<void> {
  const started = Date.now();
  const config = loadConfig();
  const dev = config.temporal.address ? null : await readDevState(config.dataDir);
  if (dev) config.temporal = { ...config.temporal, address: dev.temporalAddress, namespace: dev.namespace, uiUrl: config.temporal.uiUrl ?? dev.uiUrl };
  const stack = await startLocalStack(config, { ui: !config.temporal.address });
  try {
    const veda = stack.veda();
    const collection = await veda.create({
      name: 'olinda-landcover',
      mlType: 'classification',
      tileSize: [64, 64],
      classes: ['water', 'vegetation', 'urban'],
      sensors: ['Landsat 7 ETM+'],
    });
    const run = await collection.ingest({ image, labels, groups: { train: 100, test: 25 }, spatialSplit: true, buffer: 8, seed: 42 });
    const final = await followWithBars(run, `Ingesting into dataset ${collection.id} (workflow ${run.workflowId})`);
    const doc = await collection.save();
    const [first] = await collection.slice(0, 1);
    const chip = await first!.image();

    console.log('\nSaved dataset document:');
    console.log(JSON.stringify(doc, null, 2));
    console.log('\nCounts:', JSON.stringify(await collection.count()));
    console.log(`First pair: window ${JSON.stringify(first!.data.window)} in ${first!.data.group}, label ${JSON.stringify(Array.from(first!.y as Uint8Array))} ` +
      `(${collection.classes.join(', ')}), chip ${chip.bands}x${chip.height}x${chip.width} ${chip.dtype}`);
    console.log(`Workflow: ${final.stage}, ${final.posted} datapoints posted, ${final.percentCached}% cached`);
    console.log(`Leakage check (veda check ${collection.id}):\n${describeLeakage(await collection.check())}`);
    console.log(`Temporal Web UI: ${doc.links.workflows?.href ?? stack.uiUrl ?? '(not served)'}`);
    console.log(dev ? `  (served by your \`veda dev\`)` : `  (this demo's server stops when it exits; run \`npx veda dev\` for one that stays up)`);
    console.log(`Data: ${config.dataDir} (the CLI's too: npx veda show ${collection.id})`);
    console.log(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
