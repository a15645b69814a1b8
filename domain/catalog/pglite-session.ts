import type { PGlite } from '@electric-sql/pglite';

/**
 * PGlite is ONE PostgreSQL session. Connections served over the wire protocol (embedded-server.ts) must therefore
 * take turns by whole protocol cycles, not by single messages: the unnamed prepared statement and portal of an
 * extended-protocol query (Parse, Bind, Describe, Execute ... Sync) and every statement of a transaction belong to
 * the connection that started them. pglite-socket 0.2.17 schedules message by message and keeps a connection's
 * turn only inside a transaction block, so two pg clients whose queries arrive in several TCP reads (any insert of
 * 128 datapoints) bind each other's statements: "portal does not exist", bind errors, or a query answered with
 * another one's rows ("dataset ... does not exist"). Upstream: electric-sql/pglite issues 1046 and 985.
 *
 * Here a connection holds the session from its first message until the session is back where it found it: the
 * connection's last reply was ReadyForQuery with status idle ('I', no transaction) and it is not inside an
 * extended-protocol sequence (a Parse/Bind/... not yet followed by Sync). Other connections' messages wait in
 * order. A connection that goes away while holding the session has its sequence ended (Sync) and its transaction
 * rolled back before anyone else runs, and a failing message never stops the queue.
 *
 * The three methods are the interface pglite-socket's PGLiteSocketHandler calls on its queue.
 */
export class PGliteSession {
  private readonly jobs: Job[] = [];
  private readonly connections = new Map<number, ConnectionState>();
  /** The connection holding the session between two idle ReadyForQuery replies, or null. */
  private owner: number | null = null;
  /** Connections that went away; one holding the session has it reset before any other job runs. */
  private readonly departed: Array<{ handlerId: number; done: () => void }> = [];
  /** The connection whose message is running now. */
  private current: number | null = null;
  private running = false;

  constructor(private readonly db: PGlite) {}

  /** Queues one frontend message; resolves with the bytes of reply sent to `onData` once it ran. */
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.jobs.push({ handlerId, message, onData, resolve, reject });
      void this.run();
    });
  }

  /** Drops the queued messages of a connection that went away. */
  clearQueueForHandler(handlerId: number): void {
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      const job = this.jobs[i]!;
      if (job.handlerId !== handlerId) continue;
      this.jobs.splice(i, 1);
      job.reject(new Error('connection closed'));
    }
  }

  /** Called when a connection goes away: hands the session back clean if that connection held it. */
  clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId && this.current !== handlerId) {
      this.connections.delete(handlerId);
      return Promise.resolve();
    }
    // It holds the session, or its last message is running and may leave it holding it.
    return new Promise((done) => {
      this.departed.push({ handlerId, done });
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const departed = this.departed.shift();
        if (departed) {
          if (this.owner === departed.handlerId) await this.reset(departed.handlerId);
          this.connections.delete(departed.handlerId);
          departed.done();
          continue;
        }
        const index = this.owner === null ? 0 : this.jobs.findIndex((job) => job.handlerId === this.owner);
        if (index < 0 || index >= this.jobs.length) return; // idle, or waiting for the owner's next message
        const job = this.jobs.splice(index, 1)[0]!;
        this.current = job.handlerId;
        try {
          await this.execute(job);
        } finally {
          this.current = null;
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async execute(job: Job): Promise<void> {
    const state = this.connections.get(job.handlerId) ?? { extended: false, idle: true };
    this.connections.set(job.handlerId, state);
    const type = String.fromCharCode(job.message[0]!);
    if (EXTENDED_MESSAGES.has(type)) state.extended = true;
    if (type === 'S') state.extended = false;
    const reply = new ReplyTracker();
    let bytes = 0;
    try {
      await this.exec(job.message, (data) => {
        bytes += data.length;
        reply.feed(data);
        job.onData(data);
      });
    } catch (err) {
      // State unknown: keep the session with this connection; its handler closes it and reset() cleans up.
      state.idle = false;
      this.owner = job.handlerId;
      job.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (reply.lastType !== 0) state.idle = reply.lastType === READY_FOR_QUERY && reply.status === IDLE;
    this.owner = state.extended || !state.idle ? job.handlerId : null;
    job.resolve(bytes);
  }

  /** Ends a departed owner's extended-protocol sequence and rolls back its transaction. */
  private async reset(handlerId: number): Promise<void> {
    const state = this.connections.get(handlerId);
    try {
      const afterSync = new ReplyTracker();
      if (state?.extended || !state?.idle) await this.exec(SYNC, (data) => afterSync.feed(data));
      if (afterSync.lastType !== READY_FOR_QUERY || afterSync.status !== IDLE) await this.exec(ROLLBACK, () => {});
    } catch {
      // The database is closing: nothing is left to reset.
    } finally {
      if (this.owner === handlerId) this.owner = null;
    }
  }

  private exec(message: Uint8Array, onRawData: (data: Uint8Array) => void): Promise<void> {
    return this.db.runExclusive(() => this.db.execProtocolRawStream(message, { onRawData }));
  }
}

interface Job {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (err: Error) => void;
}

interface ConnectionState {
  /** Inside an extended-protocol sequence: a Parse/Bind/Describe/Execute/Close/Flush not yet followed by Sync. */
  extended: boolean;
  /** The last reply ended with ReadyForQuery, status idle (no open or failed transaction). */
  idle: boolean;
}

const EXTENDED_MESSAGES = new Set(['P', 'B', 'D', 'E', 'C', 'H']);
const READY_FOR_QUERY = 'Z'.charCodeAt(0);
const IDLE = 'I'.charCodeAt(0);

function frontendMessage(type: string, body: Buffer): Uint8Array {
  const message = Buffer.alloc(5 + body.length);
  message.write(type, 0, 'latin1');
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return new Uint8Array(message);
}
const SYNC = frontendMessage('S', Buffer.alloc(0));
const ROLLBACK = frontendMessage('Q', Buffer.from('rollback\0', 'latin1'));

/** Follows backend messages across reply chunks, remembering the type of the last one (and a ReadyForQuery's status). */
class ReplyTracker {
  lastType = 0;
  status = 0;
  private readonly header = Buffer.alloc(5);
  private headerBytes = 0;
  private bodyLeft = 0;
  private bodyRead = 0;

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - i);
        if (this.lastType === READY_FOR_QUERY && this.bodyRead === 0) this.status = chunk[i]!;
        this.bodyRead += n;
        this.bodyLeft -= n;
        i += n;
        continue;
      }
      this.header[this.headerBytes++] = chunk[i++]!;
      if (this.headerBytes === 5) {
        this.lastType = this.header[0]!;
        this.status = 0;
        this.bodyLeft = this.header.readInt32BE(1) - 4;
        this.bodyRead = 0;
        this.headerBytes = 0;
      }
    }
  }
}
