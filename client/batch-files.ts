/**
 * Batch files reach the client from the batch store: workers write only there, and the client puts its copy where
 * the user asks (`--out`, `coll.batch(n, { out })`). With a local store and no `out`, the stored file is opened in
 * place; with an S3 store it is downloaded next to the client's scratch files.
 */
import path from 'node:path';
import { InvalidInputError } from '../domain/errors.js';
import type { Services } from '../runtime/services.js';
import type { Progress } from '../workflows/progress.js';

export async function fetchBatchFile(services: Pick<Services, 'batches' | 'scratchDir'>, final: Progress, out?: string): Promise<string> {
  const key = final.outputKey;
  if (!key) throw new InvalidInputError(`batch workflow of dataset ${final.datasetId} finished without a stored file`);
  if (out) {
    const file = path.resolve(out);
    await services.batches.getFile(key, file);
    return file;
  }
  const local = services.batches.localPath(key);
  if (local) return local;
  const file = path.join(services.scratchDir, 'downloads', ...key.split('/'));
  await services.batches.getFile(key, file);
  return file;
}
