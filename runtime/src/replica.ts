// A replica: one document's database with the reducer that writes it.
//
// Invariants:
// 1. Every write goes through a transaction opened here; each commit that changed pages becomes
//    exactly one frame, numbered by `nextLsn` (0, 1, 2, …). A commit that changed nothing makes none.
// 2. While a mutation is being reduced, SQLite's clock and randomness and the reducer's `now()` and
//    `random()` are pure functions of that mutation's envelope (timestamp, seed from timeline+lsn).
// 3. A trapped reducer instance is never called again: it is replaced by a fresh one.
// 4. An authoritative replica's commits are final: each folds into the store's base at once, so its base is
//    always what it committed. A client's commits stay in the overlay until `discardOverlay`, and its base
//    changes only through `applyFrames` (the authority's frames); that is all a rebase needs
//    (discard, apply, re-run the pending mutations). Neither may run inside a transaction (the store refuses).
// 5. The reducer's SQL goes through `connection.guest` (checked by the guest policy, metered); its step
//    budget is reset as the guest enters each mutation, like its fuel (limits.ts invariant 2). Running
//    out of it, or hitting SQLite's size limits (connection.ts invariant 6), traps the guest (host.ts
//    invariant 3) even if the guest would swallow the SQL error. So does a statement SQLite aborted
//    (connection.ts invariant 7): the guest never runs another statement after SQLite ended the
//    transaction (it would run outside any transaction), and `applyBatch` begins the transaction
//    again and rejects only the mutation that did it (apply.ts invariant 5).
// 6. A verdict run (apply.ts invariant 4) and a migration start from a fresh instance and an empty
//    guest statement cache, so nothing a host ran before can change their outcome or their count.
// 7. A frame's lsn is consumed only once `onFrame` has taken it. If `onFrame` throws, SQLite has
//    already committed, but the frame was not recorded and its pages stay dirty in the store: the
//    replica is poisoned, and every later call (but `close`) throws the same TandemError
//    'storage-failed'. Nothing can be trusted to continue from there but a reopen.
// 8. After the pages change beneath SQLite (`discardOverlay`, `applyFrames`, `resetBase`), the next
//    statement runs under the schema the pages hold: SQLite is made to read it again unless the change
//    kept the schema cookie along one history (`forgetSchema`), never under a schema they do not hold.

import { applySequentially, type ReduceResult } from './apply.js';
import { TandemError } from './errors.js';
import type { Frame, FramePage } from './frame.js';
import { abortTrap, limitTrap } from './reducer/errors.js';
import {
  type MutationEnvelope,
  type Outcome,
  type ReducerImports,
  type ReducerInstance,
  type ReducerModule,
  ReducerTrap,
} from './reducer/host.js';
import { budgetFor } from './reducer/limits.js';
import { Connection } from './sqlite/connection.js';
import { loadSqlite } from './sqlite/sqlite.js';
import { type PlainValue, type RowSet, toPlain, toValue, type Value } from './value.js';
import { type CaptureVfs, installCaptureVfs } from './vfs/capture-vfs.js';
import { deriveSeedWords, type Seed, SeededRandom } from './vfs/entropy.js';
import { PageStore } from './vfs/page-store.js';

/** SQLite's b-tree page type of a table leaf (file format, section 1.6). */
const LEAF_TABLE_PAGE = 0x0d;

/** A table's rows as `Replica.tableStamp` saw them. */
export interface TableStamp {
  readonly cookie: number;
  readonly root: number;
  readonly bytes: Uint8Array;
}

export interface ReplicaOptions {
  /** Names the database file inside the VFS; unique among the replicas open in this process. */
  readonly name: string;
  readonly reducer: ReducerModule;
  /**
   * Pages to start from (a replica of an existing database), which know the next authority frame they
   * take (`new PageStore({ nextFrameLsn })`); a new, empty store by default.
   */
  readonly store?: PageStore;
  /** Called after each commit that changed pages. */
  readonly onFrame?: (frame: Frame) => void;
  /** The lsn of the first frame this replica commits (a reopened authority goes on from its journal); 0 by default. */
  readonly firstFrameLsn?: number;
  /**
   * True for the authority (the coordinator): each commit folds into the base. False by default: a client's
   * commits stay in the overlay until `discardOverlay`.
   */
  readonly authoritative?: boolean;
  /** Receives the reducer's `log` calls; dropped by default. */
  readonly onLog?: (level: string, message: string) => void;
}

/** A base as `Replica.saveBase` took it. */
export interface SavedBase {
  readonly pageCount: number;
  readonly pages: readonly FramePage[];
  readonly nextFrameLsn: number | undefined;
}

/** The envelope a migration runs under: fixed, so that every replica migrates to the same pages. */
export function migrationEnvelope(toVersion: number): MutationEnvelope {
  return { timelineId: 'tandem:migrate', lsn: toVersion, timestamp: 0, payload: new Uint8Array(0) };
}

// Keeps the reducer's own random stream apart from SQLite's, which is seeded from the same envelope: the
// guest's seed is the envelope's seed XOR 0x9e3779b97f4a7c15.
const GUEST_STREAM_HI = 0x9e3779b9;
const GUEST_STREAM_LO = 0x7f4a7c15;

let openCount = 0;
const NO_PARAMS: readonly Value[] = [];

export class Replica {
  readonly store: PageStore;
  readonly connection: Connection;
  private readonly vfs: CaptureVfs;
  private reducer: ReducerModule;
  private instance: ReducerInstance;
  private readonly imports: ReducerImports;
  private batch: readonly MutationEnvelope[] = [];
  /** SQL steps per mutation in the running call. */
  private sqlBudget: number;
  /** The current mutation's guest stream, from its first draw on (invariant 2). */
  private guestRandom: SeededRandom | undefined;
  private current: MutationEnvelope | undefined;
  /** The current mutation's seed, once something drew. */
  private currentSeed: Seed | undefined;
  private savepointDepth = 0;
  private declaredVersion: number | undefined;
  private nextLsn = 0;
  private closed = false;
  /** Set when a commit could not be recorded (invariant 7). */
  private failure: TandemError | undefined;

  static async open(options: ReplicaOptions): Promise<Replica> {
    const sqlite3 = await loadSqlite();
    return new Replica(installCaptureVfs(sqlite3), options);
  }

  private constructor(vfs: CaptureVfs, options: ReplicaOptions) {
    this.vfs = vfs;
    this.reducer = options.reducer;
    this.store = options.store ?? new PageStore();
    this.nextLsn = options.firstFrameLsn ?? 0;
    const { onFrame, authoritative = false } = options;
    const db = vfs.open(`${options.name}#${++openCount}`, this.store, (commit) => {
      const frame: Frame = { lsn: this.nextLsn, pageCount: commit.pageCount, pages: commit.pages };
      try {
        onFrame?.(frame);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        this.failure ??= new TandemError(
          'storage-failed',
          `frame ${frame.lsn} was committed but not recorded (${reason}); reopen the document`,
          { reason },
          { cause: error },
        );
        throw error;
      }
      this.nextLsn++;
      if (authoritative) this.store.foldOverlay(frame.lsn);
      // Nobody kept the frame: its pages may be reused once the overlay drops them (page-store.ts
      // invariant 9), so a rebase writes into warm arrays instead of fresh memory.
      else if (onFrame === undefined) this.store.release(frame.pages);
    });
    this.connection = new Connection(db);
    this.sqlBudget = this.reducer.limits.sqlStepsPerMutation;
    const onLog = options.onLog;
    const guest = this.connection.guest;
    this.imports = {
      // The connection binds a guest's texts and keeps none of them.
      readsTextDuringCall: true,
      // No closure per call: these run for every statement of every mutation.
      execute: (sql, params) => {
        try {
          return guest.execute(sql, params);
        } catch (error) {
          throw this.guestFailure(error);
        }
      },
      executeBatch: (sql, rows) => {
        try {
          return guest.executeBatch(sql, rows);
        } catch (error) {
          throw this.guestFailure(error);
        }
      },
      query: (sql, params) => {
        try {
          return guest.query(sql, params);
        } catch (error) {
          throw this.guestFailure(error);
        }
      },
      log: (level, message) => onLog?.(level, message),
      enter: (index) => {
        if (index === this.batch.length) {
          // The glue's bookkeeping after the last mutation: a fixed allowance (limits.ts invariant 2).
          this.connection.meterGuest(this.sqlBudget);
          return;
        }
        const mutation = this.batch[index];
        if (mutation === undefined)
          throw new RangeError(`enter(${index}) outside a batch of ${this.batch.length}`);
        this.connection.meterGuest(this.sqlBudget);
        this.focus(mutation);
      },
      now: () => BigInt(this.current?.timestamp ?? 0),
      random: () => {
        if (this.guestRandom === undefined) {
          const { hi, lo } = this.seed();
          this.guestRandom = new SeededRandom({ hi: hi ^ GUEST_STREAM_HI, lo: lo ^ GUEST_STREAM_LO });
        }
        return this.guestRandom.nextU64();
      },
    };
    this.instance = this.reducer.instantiate(this.imports);
  }

  /**
   * The schema version the loaded reducer migrates to. Read from the guest once: it is the module's
   * (any instance declares the same), and every rebase asks it.
   */
  get reducerVersion(): number {
    this.declaredVersion ??= this.instance.schemaVersion();
    return this.declaredVersion;
  }

  /** The reducer that writes this database. */
  get reducerModule(): ReducerModule {
    return this.reducer;
  }

  /**
   * Makes `reducer` the one that writes this database from now on (a client upgrading to the
   * coordinator's newer reducer); returns the one it replaces. Outside a transaction only: the next
   * call starts from a fresh instance of it and an empty guest statement cache (invariant 6), and
   * `reducerVersion` is read again.
   */
  useReducer(reducer: ReducerModule): ReducerModule {
    this.assertOpen();
    if (this.connection.inTransaction) throw new Error('a reducer cannot be swapped inside a transaction');
    const previous = this.reducer;
    const instance = reducer.instantiate(this.imports);
    this.reducer = reducer;
    this.instance = instance;
    this.declaredVersion = undefined;
    this.sqlBudget = reducer.limits.sqlStepsPerMutation;
    this.connection.clearGuestStatements();
    return previous;
  }

  /** Runs `fn` in a write transaction; its changes become one frame when it returns. */
  transaction<T>(fn: () => T): T {
    this.assertOpen();
    this.control('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.control('COMMIT');
      return result;
    } catch (error) {
      // A COMMIT whose frame was not recorded has ended the transaction all the same (invariant 7).
      if (this.connection.inTransaction) this.control('ROLLBACK');
      throw this.failure ?? error;
    } finally {
      // Not before: the transaction's own statements after the last mutation still draw from its envelope.
      this.vfs.releaseEnvelopes();
    }
  }

  /**
   * Calls the reducer's `migrate` under the migration envelope; the caller owns the transaction. Like
   * a verdict run, it starts from a fresh instance and an empty guest statement cache (invariant 6),
   * so every replica migrates to the same pages whatever it ran before.
   */
  migrate(fromVersion: number, toVersion: number): Outcome {
    this.assertOpen();
    if (!this.instance.fresh) this.instance = this.reducer.instantiate(this.imports);
    this.connection.clearGuestStatements();
    this.batch = [migrationEnvelope(toVersion)];
    this.focus(this.batch[0]!);
    this.sqlBudget = this.reducer.limits.sqlStepsPerMutation;
    this.connection.meterGuest(this.sqlBudget);
    try {
      return this.instance.migrate(fromVersion);
    } catch (error) {
      if (!(error instanceof ReducerTrap)) throw error;
      this.instance = this.reducer.instantiate(this.imports);
      return {
        ok: false,
        reason:
          error.limit === undefined && !error.aborted ? `reducer trapped: ${error.message}` : error.message,
      };
    } finally {
      this.batch = [];
    }
  }

  /**
   * Applies a batch in one transaction (one frame at most); one outcome per mutation. `alsoInside` runs in
   * the same transaction after the batch (the authority records its applied markers there).
   */
  applyBatch(batch: readonly MutationEnvelope[], alsoInside?: (outcomes: Outcome[]) => void): Outcome[] {
    return this.transaction(() => {
      const outcomes = applySequentially(this.batchTarget, batch);
      alsoInside?.(outcomes);
      return outcomes;
    });
  }

  /** Runs a read-only query and returns rows as plain objects. */
  query(sql: string, params: readonly (PlainValue | boolean)[] = []): Record<string, PlainValue>[] {
    const { columns, rows } = this.queryValues(sql, params.map(toValue));
    return rows.map((row) => {
      const object: Record<string, PlainValue> = {};
      columns.forEach((column, i) => {
        object[column] = toPlain(row[i] ?? { tag: 'null' });
      });
      return object;
    });
  }

  /**
   * Runs a read-only query and returns rows as SQLite's values (subscriptions compare them): the
   * application's reads, under SQLite's own limits, not the reducer's (connection.ts `read`).
   */
  queryValues(sql: string, params: readonly Value[]): RowSet {
    this.assertOpen();
    return this.connection.read(sql, params);
  }

  /**
   * The rows of table `name` as they stand, for `sameTable` to tell cheaply (no SQL) whether they may
   * have changed since: the schema cookie and a copy of the table's root page, when that page is a
   * leaf, so that it holds every row (SQLite rewrites it whenever a row changes). Undefined inside a
   * transaction (the store may lag SQLite's cache), or for a table that is missing or holds more than
   * its root page.
   */
  tableStamp(name: string): TableStamp | undefined {
    if (this.connection.inTransaction) return undefined;
    const root = this.tableRoot(name);
    if (typeof root !== 'number' || root < 2) return undefined;
    // `read`, not `peek`: the array is then never reused, and a stored page never changes in place
    // (page-store.ts invariants 2, 9), so it stands for the bytes without a copy.
    const page = this.store.read(root);
    if (page?.[0] !== LEAF_TABLE_PAGE) return undefined;
    return { cookie: this.schemaCookie(), root, bytes: page };
  }

  /** Whether table `name` exists. */
  hasTable(name: string): boolean {
    return this.tableRoot(name) !== undefined;
  }

  // One statement for every look-up of a table (hasTable, tableStamp): an open asks several, and each
  // distinct statement costs a prepare, and its first run in a new process compiles SQLite's paths.
  private tableRoot(name: string): number | undefined {
    const [row] = this.query("SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = ?", [name]);
    return typeof row?.rootpage === 'number' ? row.rootpage : undefined;
  }

  /** True when the table `stamp` was taken of cannot have changed since (see `tableStamp`). */
  sameTable(stamp: TableStamp): boolean {
    if (this.connection.inTransaction || this.schemaCookie() !== stamp.cookie) return false;
    const page = this.store.peek(stamp.root);
    // The same array (no frame rewrote the page since): the same bytes, without comparing them.
    return page !== undefined && (page === stamp.bytes || sameBytes(page, stamp.bytes));
  }

  /** Drops this replica's unconfirmed pages: the next statement sees the base (the authority's pages). */
  discardOverlay(): void {
    this.assertOpen();
    const generation = this.store.generation;
    const cookie = this.schemaCookie();
    try {
      this.store.discardOverlay();
    } finally {
      this.forgetSchema(generation, cookie);
    }
  }

  /**
   * Installs the authority's frames in the base; the overlay must have been discarded. The first must
   * be the frame the base takes next (`store.nextFrameLsn`), and the others follow it without gaps:
   * otherwise PageStoreError 'frame-out-of-order', with the frames before it applied. With `handOver`,
   * the frames' page arrays become the base's, uncopied: nobody may change them after (page-store.ts).
   */
  applyFrames(frames: readonly Frame[], handOver = false): void {
    this.assertOpen();
    const generation = this.store.generation;
    const cookie = this.schemaCookie();
    try {
      for (const frame of frames) this.store.applyFrame(frame, handOver);
    } finally {
      this.forgetSchema(generation, cookie);
    }
  }

  /**
   * Replaces the base with an image of the authority's database after its first `frameCount` frames
   * (a snapshot or checkpoint); the next frame `applyFrames` takes is `frameCount`. The overlay must
   * have been discarded.
   */
  resetBase(image: {
    readonly frameCount: number;
    readonly pageCount: number;
    readonly pages: readonly FramePage[];
  }): void {
    this.assertOpen();
    const generation = this.store.generation;
    try {
      this.store.resetBase(image);
    } finally {
      this.forgetSchema(generation);
    }
  }

  /**
   * The base as it is now, for `restoreBase`: its pages are never changed in place (page-store.ts
   * invariant 2), so holding them costs no copy.
   */
  saveBase(): SavedBase {
    const { store } = this;
    return {
      pageCount: store.basePageCount,
      pages: [...store.pages('base')],
      nextFrameLsn: store.nextFrameLsn,
    };
  }

  /** Puts back a base `saveBase` took (its pages, and the frame it takes next); the overlay must be discarded. */
  restoreBase(saved: SavedBase): void {
    this.assertOpen();
    const generation = this.store.generation;
    try {
      this.store.applyFrame({ pageCount: 0, pages: [] });
      const { pageCount, pages, nextFrameLsn } = saved;
      this.store.applyFrame({
        pageCount,
        pages,
        ...(nextFrameLsn !== undefined && { frameCount: nextFrameLsn }),
      });
    } finally {
      this.forgetSchema(generation);
    }
  }

  /** Hex SHA-256 over the database file, page by page: equal hashes mean identical databases. */
  pageHash(): Promise<string> {
    return this.store.hash();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.close();
  }

  private readonly batchTarget = {
    reduce: (batch: readonly MutationEnvelope[], verdict: boolean): ReduceResult => {
      if (verdict) {
        if (!this.instance.fresh) this.instance = this.reducer.instantiate(this.imports);
        this.connection.clearGuestStatements();
      }
      this.batch = batch;
      this.focus(batch[0]!);
      this.sqlBudget = budgetFor(this.reducer.limits.sqlStepsPerMutation, verdict);
      // Before the first `enter`, the glue's work gets a fixed allowance (limits.ts invariant 2).
      this.connection.meterGuest(this.sqlBudget);
      try {
        return { trapped: false, outcomes: this.instance.reduce(batch, { verdict }) };
      } catch (error) {
        if (!(error instanceof ReducerTrap)) throw error;
        this.instance = this.reducer.instantiate(this.imports);
        return {
          trapped: true,
          reason: error.message,
          limit: error.limit,
          aborted: error.aborted,
          transactionLost: !this.connection.inTransaction,
        };
      } finally {
        this.batch = [];
      }
    },
    savepoint: () => {
      this.control(`SAVEPOINT tandem_${++this.savepointDepth}`);
    },
    release: () => {
      this.control(`RELEASE tandem_${this.savepointDepth--}`);
    },
    rollback: () => {
      const name = `tandem_${this.savepointDepth--}`;
      this.control(`ROLLBACK TO ${name}`);
      this.control(`RELEASE ${name}`);
    },
    restart: () => {
      this.savepointDepth = 0;
      this.control('BEGIN IMMEDIATE');
    },
    abandon: () => {
      this.control('ROLLBACK');
      this.control('BEGIN IMMEDIATE');
    },
  };

  /**
   * Makes SQLite read the schema again once the pages changed beneath it since `generation`
   * (invariant 8): it trusts the schema it holds while the schema cookie matches the one its statements
   * were prepared under, and cookies repeat here (a schema change dropped with the overlay and made
   * again, or another made by the authority, moves the cookie to the same number).
   */
  /**
   * Makes SQLite read the schema again once the pages changed beneath it (invariant 8). Pages that keep
   * the schema cookie (bytes 40–43 of page 1) keep the schema: SQLite bumps the cookie with every change
   * of the schema, and the visible file only moves along one history (an overlay dropped back to its
   * base, or the base taking frames after it), so an equal cookie there means an equal schema, and
   * SQLite's statements stay prepared (SQLite itself re-reads the schema when it sees another cookie).
   * Without `cookie` (a new base from another history) the schema is always read again.
   */
  private forgetSchema(generation: number, cookie?: number): void {
    if (this.store.generation === generation) return;
    if (cookie !== undefined && cookie === this.schemaCookie()) return;
    this.connection.exec('PRAGMA writable_schema = RESET');
  }

  /** The schema cookie of the visible file (0 while it is empty). */
  private schemaCookie(): number {
    const page = this.store.peek(1);
    if (page === undefined || page.length < 44) return 0;
    return ((page[40]! << 24) | (page[41]! << 16) | (page[42]! << 8) | page[43]!) >>> 0;
  }

  /** Transaction control through the statement cache: these run several times per batch. */
  private control(sql: string): void {
    this.connection.execute(sql, NO_PARAMS);
  }

  /**
   * What a failed guest SQL call throws: running out of SQL steps, or a statement SQLite aborted, traps
   * the guest instead of returning an error (invariant 5).
   */
  private guestFailure(error: unknown): unknown {
    if (this.connection.guestBudgetExhausted) return limitTrap('sql-steps');
    if (this.connection.guestSizeExceeded) return limitTrap('sql-size');
    const abort = this.connection.guestAbort;
    if (abort !== undefined) return abortTrap(abort);
    return error;
  }

  /**
   * Binds the clock and randomness to `mutation` (invariant 2). Lazily: its seed is derived, and SQLite's
   * PRNG reseeded, only when the guest or SQLite first draws (capture-vfs.ts invariant 6).
   */
  private focus(mutation: MutationEnvelope): void {
    this.current = mutation;
    this.currentSeed = undefined;
    this.guestRandom = undefined;
    this.vfs.setEnvelope({ timestampMs: mutation.timestamp, seed: this.seed });
  }

  /** The current mutation's seed. */
  private readonly seed = (): Seed => {
    if (this.currentSeed === undefined) {
      const mutation = this.current;
      if (mutation === undefined) throw new Error('no mutation is being reduced');
      this.currentSeed = deriveSeedWords(mutation.timelineId, mutation.lsn);
    }
    return this.currentSeed;
  };

  private assertOpen(): void {
    if (this.closed) throw new Error('replica is closed');
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Byte equality, a word at a time where both are aligned (every rebase compares a 4 KB page). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.length % 4 === 0 && a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const x = new Uint32Array(a.buffer, a.byteOffset, a.length / 4);
    const y = new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
