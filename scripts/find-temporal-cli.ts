// Prints the Temporal CLI veda would use, or explains how to get one (exit 1).
import { loadConfig } from '../config/config.js';
import { findTemporalCli } from '../temporal/cli-binary.js';

try {
  console.log(findTemporalCli(loadConfig().temporal.cliPath));
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
