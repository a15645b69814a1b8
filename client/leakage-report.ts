/** The leakage check as a person reads it (the CLI's text output; `--json` prints the report itself). */
import { formatShare } from '../domain/percent.js';
import type { LeakageReport } from '../domain/splits/leakage.js';

export function describeLeakage(report: LeakageReport & { datasetId: string }): string {
  const lines = [`dataset ${report.datasetId}: ${report.datapoints} datapoints in ${Object.keys(report.groups).length} groups`];
  for (const [name, g] of Object.entries(report.groups)) {
    const classes = Object.entries(g.classes).map(([c, n]) => `${c} ${n}`).join(', ');
    lines.push(`  ${name}: ${g.datapoints} windows, ${g.pixels} pixels; ${report.classUnit} per class: ${classes}`);
  }
  for (const p of report.pairs) {
    const [a, b] = p.groups;
    lines.push(
      p.sharedPixels > 0
        ? `  LEAK ${a} / ${b}: ${p.sharedPixels} shared pixels (${formatShare(p.share[a]!)} of ${a}, ${formatShare(p.share[b]!)} of ${b}), ${p.duplicateWindows} duplicated windows`
        : `  ok ${a} / ${b}: no shared pixel`,
    );
  }
  lines.push(report.leaks ? 'groups share pixels: scores measured on them are inflated' : 'no pixel is shared between groups');
  return lines.join('\n');
}
