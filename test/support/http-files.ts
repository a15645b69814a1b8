/** A static file server on 127.0.0.1 that honours single Range requests, like an object store or a CDN. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface FileServer {
  url: string;
  /** The Range header of every request (null for a whole-file request). */
  ranges: Array<string | null>;
  /** Holds every request from now on, until release(): nothing can be read meanwhile, however fast the reader. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function serveFiles(dir: string): Promise<FileServer> {
  const ranges: Array<string | null> = [];
  let held: Array<() => void> | null = null;
  const server = createServer((req, res) => (held ? held.push(() => void answer(req, res)) : void answer(req, res)));
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const file = path.join(dir, path.basename(decodeURIComponent(req.url ?? '/')));
    const size = await stat(file).then((s) => s.size, () => -1);
    if (size < 0) return void res.writeHead(404).end();
    // A HEAD (the manifest asks for the ETag) reads no bytes: only GETs say how a file is read.
    if (req.method !== 'HEAD') ranges.push(req.headers.range ?? null);
    const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!match) {
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
      return void createReadStream(file).pipe(res);
    }
    const start = Number(match[1]);
    const end = Math.min(match[2] ? Number(match[2]) : size - 1, size - 1);
    res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}`, 'accept-ranges': 'bytes' });
    createReadStream(file, { start, end }).pipe(res);
  }
  const release = () => {
    const waiting = held ?? [];
    held = null;
    for (const go of waiting) go();
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ranges,
    hold: () => void (held ??= []),
    release,
    close: () => {
      release();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
