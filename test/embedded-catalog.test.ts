/**
 * The embedded catalog (PGlite served over the PostgreSQL wire protocol, as `veda dev` serves it) under concurrent
 * work, exactly like PostgreSQL: many connections with interleaved extended-protocol queries and transactions,
 * connections that vanish mid-query, and whole ingests of thousands of windows running at once beside CLI commands.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalog, serveEmbeddedCatalog, type EmbeddedCatalogServer } from '../domain/catalog/index.js';
import { claimCatalogDir, joinOrClaimCatalogDir } from '../domain/catalog/data-dir-lock.js';
import { SetupError } from '../domain/errors.js';
import { vedaJson } from './support/cli.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

describe('an embedded catalog opened by one process', () => {
  it('is refused to a second opener with what to do instead, and free again once closed', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'veda-claimed-'));
    try {
      const first = await openCatalog({ dataDir });
      const second = openCatalog({ dataDir });
      await expect(second).rejects.toThrow(SetupError);
      await expect(second).rejects.toThrow(`process ${process.pid} has it open`);
      await expect(second).rejects.toThrow(/run `veda dev` instead, which serves it to other commands.*DATABASE_URL/);
      await first.close();
      await (await openCatalog({ dataDir })).close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('an embedded catalog whose server is starting', () => {
  it('makes a command wait for the URL of the process that will serve it, then reach the catalog through it', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'veda-starting-'));
    // The URL this claim will announce: a real served catalog (in memory), as `veda dev` serves its own.
    const server = await serveEmbeddedCatalog();
    try {
      const claim = await claimCatalogDir(dataDir, { serves: true });
      let settled = false;
      const opening = openCatalog({ dataDir }).finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(settled).toBe(false);
      await claim.announce(server.url);
      const catalog = await opening;
      try {
        const created = await catalog.createDataset({ name: 'through-the-server', mlType: 'classification', tileSize: [8, 8], classes: ['a'], userId: 'tester' });
        expect((await catalog.getDataset(created.id))?.name).toBe('through-the-server');
      } finally {
        await catalog.close();
      }
      await claim.release();
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('gives up with what to do when the starting server never says where, and refuses a second server', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'veda-stuck-'));
    try {
      const claim = await claimCatalogDir(dataDir, { serves: true });
      await expect(joinOrClaimCatalogDir(dataDir, 300)).rejects.toThrow(
        new RegExp(`claimed by process ${process.pid}, which is starting to serve it .* has not said where after 0 s`),
      );
      await expect(claimCatalogDir(dataDir, { serves: true })).rejects.toThrow('is starting to serve it (`veda dev`)');
      await claim.release();
      const access = await joinOrClaimCatalogDir(dataDir, 300);
      expect('claim' in access).toBe(true);
      // A claim released twice leaves the next holder's claim alone.
      await claim.release();
      await expect(claimCatalogDir(dataDir)).rejects.toThrow(`process ${process.pid} has it open`);
      if ('claim' in access) await access.claim.release();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the embedded catalog server', () => {
  let server: EmbeddedCatalogServer;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await serveEmbeddedCatalog();
    pool = new pg.Pool({ connectionString: server.url, max: 10 });
    pool.on('error', () => {});
  });
  afterAll(async () => {
    await pool?.end();
    await server?.close();
  });

  it("answers every connection with its own rows while many send extended-protocol queries at once", async () => {
    // Large parameters arrive in several TCP reads: the case that let connections bind each other's statements.
    const big = 'x'.repeat(300_000);
    const failures: string[] = [];
    await Promise.all(Array.from({ length: 12 }, async (_, lane) => {
      for (let i = 0; i < 12; i++) {
        const v = lane * 1000 + i;
        try {
          const { rows } = lane % 2
            ? await pool.query<{ v: number; n: number }>('select $1::int as v, length($2::text) as n', [v, big])
            : await pool.query<{ v: number; n: number }>('select $1::int as v, count(*)::int as n from generate_series(1, $2::int)', [v, 3]);
          if (rows.length !== 1 || rows[0]!.v !== v || rows[0]!.n !== (lane % 2 ? big.length : 3)) failures.push(`lane ${lane} query ${i}: ${JSON.stringify(rows).slice(0, 80)}`);
        } catch (err) {
          failures.push(`lane ${lane} query ${i}: ${(err as Error).message.slice(0, 120)}`);
        }
      }
    }));
    expect(failures).toEqual([]);
  });

  it('keeps each transaction whole: concurrent read-modify-write transactions lose no update', async () => {
    await pool.query('create table counter (n int not null)');
    await pool.query('insert into counter values (0)');
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 10; i++) {
        const client = await pool.connect();
        try {
          await client.query('begin');
          const { rows } = await client.query<{ n: number }>('select n from counter');
          await client.query('update counter set n = $1::int', [rows[0]!.n + 1]);
          await client.query('commit');
        } finally {
          client.release();
        }
      }
    }));
    expect((await pool.query<{ n: number }>('select n from counter')).rows[0]!.n).toBe(80);
  });

  it('rolls back a connection that goes away mid-transaction or mid-query, and serves the others at once', async () => {
    await pool.query('create table left_behind (v text)');
    // Gone inside a transaction.
    const inTransaction = new pg.Client({ connectionString: server.url });
    inTransaction.on('error', () => {});
    await inTransaction.connect();
    await inTransaction.query('begin');
    await inTransaction.query("insert into left_behind values ('uncommitted')");
    socketOf(inTransaction).destroy();

    // Gone after Parse and Bind, before Sync: the session would otherwise wait for its Execute forever.
    const midQuery = new pg.Client({ connectionString: server.url });
    midQuery.on('error', () => {});
    await midQuery.connect();
    socketOf(midQuery).write(Buffer.concat([parseMessage("insert into left_behind values ('half')"), bindMessage()]));
    await new Promise((resolve) => setTimeout(resolve, 200));
    socketOf(midQuery).destroy();

    const started = Date.now();
    const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from left_behind');
    expect(rows[0]!.n).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await pool.query<{ one: number }>('select $1::int as one', [1])).rows).toEqual([{ one: 1 }]);
  });
});

describe('workflows on the embedded catalog', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ catalog: 'embedded' });
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  it('runs two ingests of 3000 windows at once to exact counts, no duplicate, while CLI commands read the catalog', async () => {
    const veda = stack.veda();
    const colls = await Promise.all(['a', 'b'].map((name) =>
      veda.create({ name: `many-${name}`, mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes })));
    const started = Date.now();
    const runs = await Promise.all(colls.map((coll, i) =>
      coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: { train: 2400, test: 600 }, seed: 11 + i })));
    let finished = false;
    const results = Promise.all(runs.map((run) => run.result())).finally(() => (finished = true));

    // CLI processes, each with its own pool, read the catalog while the chunks post.
    let cliCalls = 0;
    const cliFailures: string[] = [];
    while (!finished) {
      for (const coll of colls) {
        const show = await vedaJson<{ id: string }>(['show', coll.id], stack.childEnv);
        const slice = await vedaJson<unknown[]>(['slice', coll.id, '0', '200'], stack.childEnv);
        cliCalls += 2;
        if (show.code !== 0 || show.json.id !== coll.id) cliFailures.push(`show: ${show.stdout.slice(0, 200)} ${show.stderr}`);
        if (slice.code !== 0 || !Array.isArray(slice.json)) cliFailures.push(`slice: ${slice.stdout.slice(0, 200)} ${slice.stderr}`);
      }
    }
    const finals = await results;
    const seconds = (Date.now() - started) / 1000;
    console.log(`two 3000-window ingests (post + cache) at once on the embedded catalog: ${seconds.toFixed(1)} s, ${cliCalls} CLI calls beside them`);

    expect(cliFailures).toEqual([]);
    expect(cliCalls).toBeGreaterThan(0);
    const db = new pg.Client({ connectionString: stack.catalogUrl });
    await db.connect();
    try {
      for (const [i, coll] of colls.entries()) {
        expect(finals[i]).toMatchObject({ stage: 'done', total: 3000, posted: 3000, percentCached: 100 });
        expect(await stack.services.catalog.counts(coll.id)).toEqual({ groups: { train: 2400, test: 600 }, total: 3000, cached: 3000 });
        const { rows } = await db.query<{ n: number; windows: number; chips: number }>(
          `select count(*)::int as n, count(distinct (grp, x, y))::int as windows, count(distinct chip_key)::int as chips
           from datapoints where dataset_id = $1::text`, [coll.id]);
        expect(rows[0]).toEqual({ n: 3000, windows: 3000, chips: 3000 });
      }
    } finally {
      await db.end();
    }
  }, 600_000);
});

/** The TCP socket under a pg Client (pg keeps it as connection.stream). */
function socketOf(client: pg.Client): Socket {
  return (client as unknown as { connection: { stream: Socket } }).connection.stream;
}

function frontendMessage(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

/** Parse of the unnamed statement, no parameter types. */
function parseMessage(sql: string): Buffer {
  return frontendMessage('P', Buffer.concat([Buffer.from(`\0${sql}\0`, 'utf8'), Buffer.alloc(2)]));
}

/** Bind of the unnamed portal to the unnamed statement, no parameters, text results. */
function bindMessage(): Buffer {
  return frontendMessage('B', Buffer.concat([Buffer.from('\0\0', 'latin1'), Buffer.alloc(6)]));
}
