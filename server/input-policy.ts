/**
 * Which inputs a request may name. The service reads images, label files and regions with its workers' rights, so a
 * token holder must not make it read whatever file the machine holds: URLs (http, https, s3) are read as named,
 * local paths only inside the directories the operator gave (`veda serve --inputs DIR`), after following symlinks.
 * Without such directories the service reads no local file at all. Locations a STAC item lists are its own: a local
 * item is inside an allowed directory, a remote one names remote assets.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeedItem } from '../client/collection.js';
import type { IngestOptions } from '../client/ingest-options.js';
import { ForbiddenError, InvalidInputError } from '../domain/errors.js';
import { schemeOf } from '../domain/storage/remote-files.js';

const REMOTE = new Set(['http', 'https', 's3']);

export class InputPolicy {
  private constructor(private readonly dirs: string[]) {}

  /** Local reads allowed under `dirs` (each must exist); none at all when empty. */
  static async create(dirs: string[] = []): Promise<InputPolicy> {
    const resolved = await Promise.all(
      dirs.map((dir) =>
        realpath(path.resolve(dir)).catch(() => {
          throw new InvalidInputError(`input directory ${dir} does not exist`);
        }),
      ),
    );
    return new InputPolicy(resolved);
  }

  /** The directories local inputs may lie in. */
  get directories(): readonly string[] {
    return this.dirs;
  }

  /** Refuses a location outside the allowed ones (ForbiddenError, saying what is allowed). */
  async check(location: string, what: string): Promise<void> {
    const scheme = schemeOf(location);
    if (scheme !== undefined && REMOTE.has(scheme)) return;
    if (scheme !== undefined && scheme !== 'file') return; // an unsupported scheme fails where it is read, saying so
    const local = scheme === 'file' ? fileURLToPath(location) : path.resolve(location);
    // A path that does not exist yet cannot be read either; its resolved form is what would be opened.
    const real = await realpath(local).catch(() => local);
    if (this.dirs.some((dir) => isInside(dir, real))) return;
    const allowed = this.dirs.length ? `only under ${this.dirs.join(', ')}` : 'no local files (its operator gives directories with `veda serve --inputs DIR`)';
    throw new ForbiddenError(`${what} ${location}: this service reads ${allowed}; name a file there, or an http(s) or s3:// URL`);
  }

  /** Every location an ingest names: its images (or STAC items), labels and region of interest. */
  async checkIngest(options: IngestOptions): Promise<void> {
    const images = Array.isArray(options.image) ? options.image : [options.image];
    for (const image of images) if (typeof image === 'string') await this.check(image, 'image');
    if (typeof options.labels === 'string') await this.check(options.labels, 'label file');
    if (typeof options.aoi === 'string') await this.check(options.aoi, 'region of interest');
  }

  /** Every image a feed names: the default source, each pair's and each window's own. */
  async checkFeed(pairs: FeedItem[], source: string | undefined): Promise<void> {
    if (typeof source === 'string') await this.check(source, 'image');
    for (const item of Array.isArray(pairs) ? pairs : []) {
      for (const named of sourcesOf(item)) await this.check(named, 'image');
    }
  }
}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The images a fed pair names, in whichever form it came (`[window, label]` or `{ source, window, label }`). */
function sourcesOf(item: unknown): string[] {
  const windowSource = (window: unknown) =>
    typeof window === 'object' && window !== null && !Array.isArray(window) && typeof (window as { source?: unknown }).source === 'string'
      ? [(window as { source: string }).source]
      : [];
  if (Array.isArray(item)) return windowSource(item[0]);
  if (typeof item !== 'object' || item === null) return [];
  const pair = item as { source?: unknown; window?: unknown };
  return [...(typeof pair.source === 'string' ? [pair.source] : []), ...windowSource(pair.window)];
}
