/** `veda preview`: a PNG of one chip with its label drawn over it, to check that labels line up with the image. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_SCALE, MAX_SCALE } from '../domain/preview/render-preview.js';
import { intArg, numberList } from './cli-args.js';
import { emit } from './cli-output.js';
import { globals, withVeda } from './cli-session.js';

export function registerPreviewCommands(program: Command): void {
  program
    .command('preview <id> <index>')
    .description('write a PNG of the chip at <index> (posting order, as in slice) with its label drawn over it')
    .requiredOption('--out <file.png>', 'where to write the PNG')
    .option('--bands <r,g,b>', 'chip bands (1-based) shown as red, green, blue, or one band as grey (default: natural colour when the image or sensor says which bands are red, green, blue, else 1,2,3)', numberList('--bands'))
    .option('--scale <n>', `enlargement, nearest neighbour (1-${MAX_SCALE})`, intArg('--scale', 1), DEFAULT_SCALE)
    .option('--group <name>', 'index within this group only')
    .action(async (id: string, index: string, o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const coll = await veda.fromId(id);
        const preview = await coll.preview(intArg('<index>')(index), { bands: o.bands, scale: o.scale, group: o.group });
        const out = path.resolve(o.out);
        await writeFile(out, preview.png);
        const { datapoint: p, legend } = preview;
        const present = legend.filter((c) => c.present).map((c) => c.name);
        emit(
          opts,
          {
            datasetId: id,
            index: Number(index),
            out,
            width: preview.width,
            height: preview.height,
            bands: preview.bands,
            bandsReason: preview.bandsReason,
            scale: preview.scale,
            datapoint: { id: p.id, group: p.group, source: p.source, window: p.window },
            present,
            classes: legend,
          },
          () =>
            [
              `wrote ${out} (${preview.width}x${preview.height}, bands ${preview.bands.join(',')}, scale ${preview.scale})`,
              `  bands ${preview.bands.join(',')}: ${preview.bandsReason}`,
              `  datapoint ${p.id} (${p.group}) window [${p.window.x},${p.window.y},${p.window.width},${p.window.height}] of ${p.source}`,
              `  classes present: ${present.join(', ') || '(none)'}`,
              `  colours: ${legend.map((c) => `${c.name} ${c.colour}`).join(', ')}`,
            ].join('\n'),
        );
      });
    });
}
