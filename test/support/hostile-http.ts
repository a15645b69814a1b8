/**
 * An HTTP server on 127.0.0.1 that misbehaves on purpose, by path prefix: `/ok/NAME` serves NAME from `dir` with
 * range requests, `/hang/NAME` never answers, `/500/NAME` answers HTTP 500, `/whole/NAME` ignores Range (HTTP
 * 200), `/lies/NAME` answers each range with half of its bytes (Content-Range and Content-Length disagree).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface HostileServer {
  url: string;
  close(): Promise<void>;
}

export async function serveHostile(dir: string): Promise<HostileServer> {
  const hanging = new Set<ServerResponse>();
  const server = createServer(async (req, res) => {
    const [, mode, name] = (req.url ?? '/').split('/');
    if (mode === 'hang') return void hanging.add(res);
    if (mode === '500') return void res.writeHead(500).end('boom');
    const bytes = await readFile(path.join(dir, path.basename(decodeURIComponent(name ?? '')))).catch(() => null);
    if (!bytes) return void res.writeHead(404).end();
    if (mode === 'whole') return void res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    const match = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!match) return void res.writeHead(416).end();
    const start = Number(match[1]);
    const end = Math.min(Number(match[2]), bytes.length - 1);
    const body = bytes.subarray(start, mode === 'lies' ? start + Math.ceil((end + 1 - start) / 2) : end + 1);
    res.writeHead(206, { 'content-length': body.length, 'content-range': `bytes ${start}-${end}/${bytes.length}` }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
