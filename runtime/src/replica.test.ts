import fc from 'fast-check';
import { expect, test } from 'vitest';
import { TandemError } from './errors.js';
import type { Frame } from './frame.js';
import { component, minimalGuest } from './reducer/fixtures.test-helpers.js';
import { loadReducer } from './reducer/prepare.js';
import { Replica } from './replica.js';
import type { PlainValue, Value } from './value.js';

const reducer = await loadReducer(await component(minimalGuest()));

/** FC_SEED replays a failed property run; read without importing node: modules (tests may run in a browser). */
function fcSeedFromEnv(): string | undefined {
  return (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FC_SEED;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

type Mutation =
  | { readonly kind: 'put'; readonly id: number; readonly size: number }
  | { readonly kind: 'delete'; readonly id: number }
  /** Writes, then fails: its transaction rolls back and it never becomes pending. */
  | { readonly kind: 'fail'; readonly size: number };

type Row = Record<string, PlainValue>;

/** The rows of `t` by id, plus how many columns the schema added (cN, DEFAULT N). */
interface Model {
  readonly rows: ReadonlyMap<number, string>;
  readonly addedColumns: number;
}

const text = (val: string): Value => ({ tag: 'text', val });
const int = (val: number): Value => ({ tag: 'integer', val: BigInt(val) });

/** Runs a mutation's SQL; `tag` names who wrote it, so that concurrent writers differ in content. */
function executeMutation(replica: Replica, mutation: Mutation, tag: string): void {
  switch (mutation.kind) {
    case 'put':
      replica.connection.execute('INSERT OR REPLACE INTO t(id, v) VALUES (?, ?)', [
        int(mutation.id),
        text(tag.repeat(mutation.size)),
      ]);
      return;
    case 'delete':
      replica.connection.execute('DELETE FROM t WHERE id = ?', [int(mutation.id)]);
      return;
    case 'fail':
      replica.connection.execute('INSERT INTO t(v) VALUES (?)', [text(tag.repeat(mutation.size))]);
      throw new MutationFailed();
  }
}

/** A client's local mutation: its own transaction, so its own frame (if it changed anything). */
function runMutation(replica: Replica, mutation: Mutation, tag: string): void {
  replica.transaction(() => executeMutation(replica, mutation, tag));
}

class MutationFailed extends Error {}

function modelApply(model: Model, mutation: Mutation, tag: string): Model {
  const rows = new Map(model.rows);
  if (mutation.kind === 'put') rows.set(mutation.id, tag.repeat(mutation.size));
  if (mutation.kind === 'delete') rows.delete(mutation.id);
  return { ...model, rows };
}

function expectedRows(model: Model): Row[] {
  return [...model.rows]
    .sort(([a], [b]) => a - b)
    .map(([id, v]) => {
      const row: Row = { id, v };
      for (let n = 0; n < model.addedColumns; n++) row[`c${n}`] = n;
      return row;
    });
}

function visibleRows(replica: Replica): Row[] {
  return replica.query('SELECT * FROM t ORDER BY id');
}

interface Authority {
  readonly replica: Replica;
  readonly frames: Frame[];
  /** The authority's base bytes and model after the frame with each lsn. */
  readonly bases: Uint8Array[];
  readonly models: Model[];
}

async function openAuthority(name: string): Promise<Authority> {
  const frames: Frame[] = [];
  const replica = await Replica.open({ name, reducer, authoritative: true, onFrame: (f) => frames.push(f) });
  const authority = { replica, frames, bases: [], models: [] };
  commitOnAuthority(authority, { rows: new Map(), addedColumns: 0 }, () =>
    replica.connection.exec(
      'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE applied(k PRIMARY KEY, n); INSERT INTO applied VALUES (1, 0)',
    ),
  );
  return authority;
}

/**
 * One authority transaction, so one frame: like the coordinator's applied marker, `applied` changes in each,
 * so even a transaction whose mutations changed nothing makes a frame.
 */
function commitOnAuthority(authority: Authority, model: Model, run: () => void): void {
  const before = authority.frames.length;
  authority.replica.transaction(() => {
    run();
    authority.replica.connection.execute('UPDATE applied SET n = n + 1', []);
  });
  expect(authority.frames.length).toBe(before + 1);
  expect(authority.replica.store.hasOverlay).toBe(false);
  authority.bases.push(authority.replica.store.snapshotBytes('base'));
  authority.models.push(model);
}

test('a client commit and an authority commit on the same base carry the same counter, and delivery shows the authority rows', async () => {
  const authority = await openAuthority('equal-counter-authority');
  const client = await Replica.open({ name: 'equal-counter-client', reducer });
  client.applyFrames(authority.frames);
  expect(visibleRows(client)).toEqual([]);
  runMutation(client, { kind: 'put', id: 1, size: 3 }, 'c');
  const model = modelApply(authority.models[0]!, { kind: 'put', id: 1, size: 3 }, 'a');
  commitOnAuthority(authority, model, () =>
    executeMutation(authority.replica, { kind: 'put', id: 1, size: 3 }, 'a'),
  );
  const counter = (page: Uint8Array) => new DataView(page.buffer, page.byteOffset).getUint32(24);
  expect(counter(client.store.read(1)!)).toBe(counter(authority.replica.store.read(1)!));
  expect(visibleRows(client)).toEqual([{ id: 1, v: 'ccc' }]);

  client.discardOverlay();
  client.applyFrames(authority.frames.slice(1));
  expect(visibleRows(client)).toEqual([{ id: 1, v: 'aaa' }]);
  expect(await client.pageHash()).toBe(await authority.replica.pageHash());
  client.close();
  authority.replica.close();
});

test('a client that wrote to an empty database rebases onto the authority frames that create it', async () => {
  const client = await Replica.open({ name: 'empty-base-client', reducer });
  client.connection.exec(
    "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, local DEFAULT 'yes'); INSERT INTO t(id, v) VALUES (1, 'c')",
  );
  const authority = await openAuthority('empty-base-authority');
  client.discardOverlay();
  expect(client.store.pageCount).toBe(0);
  client.applyFrames(authority.frames);
  runMutation(client, { kind: 'put', id: 2, size: 2 }, 'c');
  expect(visibleRows(client)).toEqual([{ id: 2, v: 'cc' }]);
  commitOnAuthority(authority, authority.models[0]!, () =>
    executeMutation(authority.replica, { kind: 'put', id: 2, size: 2 }, 'c'),
  );
  client.discardOverlay();
  client.applyFrames(authority.frames.slice(1));
  expect(await client.pageHash()).toBe(await authority.replica.pageHash());
  expect(client.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  client.close();
  authority.replica.close();
});

test('a rebase is refused inside a transaction and leaves the pages as they were', async () => {
  const authority = await openAuthority('refused-authority');
  const client = await Replica.open({ name: 'refused-client', reducer });
  client.applyFrames(authority.frames);
  runMutation(client, { kind: 'put', id: 1, size: 1 }, 'c');
  expect(() => client.transaction(() => client.discardOverlay())).toThrow(
    expect.objectContaining({ kind: 'in-transaction' }),
  );
  expect(() => client.applyFrames(authority.frames)).toThrow(
    expect.objectContaining({ kind: 'overlay-not-empty' }),
  );
  expect(visibleRows(client)).toEqual([{ id: 1, v: 'c' }]);
  client.close();
  authority.replica.close();
});

test('a cached query keeps working when an incoming frame changes the schema', async () => {
  const authority = await openAuthority('schema-authority');
  const client = await Replica.open({ name: 'schema-client', reducer });
  client.applyFrames(authority.frames);
  runMutation(client, { kind: 'put', id: 1, size: 2 }, 'c');
  expect(visibleRows(client)).toEqual([{ id: 1, v: 'cc' }]);
  commitOnAuthority(authority, authority.models[0]!, () =>
    authority.replica.connection.exec('ALTER TABLE t ADD COLUMN c0 DEFAULT 0'),
  );
  client.discardOverlay();
  client.applyFrames(authority.frames.slice(1));
  runMutation(client, { kind: 'put', id: 1, size: 2 }, 'c');
  expect(visibleRows(client)).toEqual([{ id: 1, v: 'cc', c0: 0 }]);
  client.close();
  authority.replica.close();
});

// ---- rebase property ----

type Step =
  | { readonly kind: 'local'; readonly mutation: Mutation }
  /** The authority applies the client's next `count` unsent pending mutations, in one frame. */
  | { readonly kind: 'push'; readonly count: number }
  /** Another client's mutation, applied by the authority. */
  | { readonly kind: 'other'; readonly mutation: Mutation }
  | { readonly kind: 'schema'; readonly change: 'column' | 'index' }
  /** The client receives the next `count` undelivered frames and rebases onto them. */
  | { readonly kind: 'deliver'; readonly count: number }
  | { readonly kind: 'discard' };

const idArb = fc.nat(7);
const sizeArb = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1000, max: 9000 }));
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), id: idArb, size: sizeArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: idArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), size: sizeArb }) },
);
const countArb = fc.integer({ min: 1, max: 4 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('local' as const), mutation: mutationArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('push' as const), count: countArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('other' as const), mutation: mutationArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('schema' as const),
      change: fc.constantFrom('column', 'index'),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('deliver' as const), count: countArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'discard' as const }) },
);

let runs = 0;

async function runInterleaving(steps: readonly Step[], cacheSize: number): Promise<void> {
  const run = ++runs;
  const authority = await openAuthority(`rebase-authority-${run}`);
  const client = await Replica.open({ name: `rebase-client-${run}`, reducer });
  try {
    client.connection.exec(`PRAGMA cache_size=${cacheSize}`);
    client.applyFrames(authority.frames);
    /** The lsn of the last frame the client applied to its base. */
    let delivered = 0;
    /** The client's mutations not yet in a delivered frame, oldest first; the first `sent` are on the authority. */
    let pending: Mutation[] = [];
    let sent = 0;
    /** How many of the client's mutations the authority had applied after each frame (by lsn). */
    const confirmedAt: number[] = [0];
    /** What the client's overlay holds on top of its base. */
    let inOverlay: Mutation[] = [];
    let indexed = false;

    const authorityModel = () => authority.models.at(-1)!;
    const commit = (model: Model, run: () => void, confirmed = 0) => {
      commitOnAuthority(authority, model, run);
      confirmedAt.push(confirmedAt.at(-1)! + confirmed);
    };
    const discard = () => {
      client.discardOverlay();
      inOverlay = [];
      // After a discard the client's pages are the authority's pages at the delivered lsn, byte for byte.
      expect(sameBytes(client.store.snapshotBytes(), authority.bases[delivered]!)).toBe(true);
    };

    for (const step of steps) {
      switch (step.kind) {
        case 'local':
          try {
            runMutation(client, step.mutation, 'c');
            pending.push(step.mutation);
            inOverlay.push(step.mutation);
          } catch (error) {
            if (!(error instanceof MutationFailed)) throw error;
          }
          break;
        case 'push': {
          const toSend = pending.slice(sent, sent + step.count);
          if (toSend.length === 0) break;
          sent += toSend.length;
          const model = toSend.reduce((m, mutation) => modelApply(m, mutation, 'c'), authorityModel());
          commit(
            model,
            () => {
              for (const mutation of toSend) executeMutation(authority.replica, mutation, 'c');
            },
            toSend.length,
          );
          break;
        }
        case 'other':
          if (step.mutation.kind === 'fail') break;
          commit(modelApply(authorityModel(), step.mutation, 'o'), () =>
            executeMutation(authority.replica, step.mutation, 'o'),
          );
          break;
        case 'schema': {
          const model = authorityModel();
          if (step.change === 'column') {
            if (model.addedColumns >= 3) break;
            const n = model.addedColumns;
            commit({ ...model, addedColumns: n + 1 }, () =>
              authority.replica.connection.exec(`ALTER TABLE t ADD COLUMN c${n} DEFAULT ${n}`),
            );
          } else {
            indexed = !indexed;
            commit(model, () =>
              authority.replica.connection.exec(indexed ? 'CREATE INDEX t_v ON t(v)' : 'DROP INDEX t_v'),
            );
          }
          break;
        }
        case 'deliver': {
          const upTo = Math.min(delivered + step.count, authority.frames.length - 1);
          if (upTo === delivered) break;
          discard();
          client.applyFrames(authority.frames.slice(delivered + 1, upTo + 1));
          const confirmed = confirmedAt[upTo]! - confirmedAt[delivered]!;
          pending = pending.slice(confirmed);
          sent -= confirmed;
          delivered = upTo;
          for (const mutation of pending) runMutation(client, mutation, 'c');
          inOverlay = [...pending];
          break;
        }
        case 'discard':
          discard();
          break;
      }
      const model = inOverlay.reduce(
        (m, mutation) => modelApply(m, mutation, 'c'),
        authority.models[delivered]!,
      );
      expect(visibleRows(client)).toEqual(expectedRows(model));
      expect(client.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    }
  } finally {
    client.close();
    authority.replica.close();
  }
}

test('a client rebasing through any interleaving of local mutations, authority commits, deliveries and discards sees its model', async () => {
  const seed = Number(fcSeedFromEnv() ?? Date.now() % 2 ** 31);
  const property = fc.asyncProperty(
    fc.array(stepArb, { minLength: 1, maxLength: 40 }),
    fc.constantFrom(5, 2000),
    (steps, cacheSize) => runInterleaving(steps, cacheSize),
  );
  try {
    await fc.assert(property, { seed, numRuns: 100 });
  } catch (error) {
    throw new Error(`rebase property failed; replay with FC_SEED=${seed}`, { cause: error });
  }
});

test('a frame that onFrame fails to take poisons the replica: storage-failed for that call and every later one, and its lsn is not consumed', async () => {
  const taken: number[] = [];
  let failing = false;
  const replica = await Replica.open({
    name: 'poisoned',
    reducer,
    onFrame: (frame) => {
      if (failing) throw new Error('disk full');
      taken.push(frame.lsn);
    },
  });
  replica.transaction(() => replica.connection.exec('CREATE TABLE t(x)'));
  failing = true;
  const insert = () => replica.transaction(() => replica.connection.execute('INSERT INTO t VALUES (1)', []));
  const failure = (() => {
    try {
      insert();
    } catch (error) {
      return error;
    }
    return undefined;
  })();
  expect(failure).toBeInstanceOf(TandemError);
  expect(failure).toMatchObject({ kind: 'storage-failed', fields: { reason: 'disk full' } });
  expect((failure as Error).message).toMatch(/frame 1 was committed but not recorded/);
  failing = false;
  expect(insert).toThrow(failure as Error);
  expect(() => replica.applyBatch([])).toThrow(failure as Error);
  expect(() => replica.query('SELECT 1')).toThrow(failure as Error);
  expect(() => replica.migrate(0, 1)).toThrow(failure as Error);
  expect(taken).toEqual([0]);
  replica.close();
});

test('a client refuses authority frames out of order, and takes them again from a snapshot of the authority', async () => {
  const authority = await openAuthority('ordered-authority');
  for (let k = 0; k < 3; k++) {
    commitOnAuthority(authority, authority.models[0]!, () =>
      authority.replica.connection.execute('INSERT INTO t(v) VALUES (?)', [text(`row ${k}`)]),
    );
  }
  const client = await Replica.open({ name: 'ordered-client', reducer });
  expect(() => client.applyFrames(authority.frames.slice(1))).toThrow(
    expect.objectContaining({ kind: 'frame-out-of-order', expectedLsn: 0, lsn: 1 }),
  );
  client.applyFrames(authority.frames.slice(0, 2));
  expect(() => client.applyFrames(authority.frames.slice(1))).toThrow(
    expect.objectContaining({ kind: 'frame-out-of-order', expectedLsn: 2, lsn: 1 }),
  );
  const image = { frameCount: 3, pageCount: 0, pages: [] as { pgno: number; data: Uint8Array }[] };
  const base = authority.bases[2]!;
  image.pageCount = base.length / 4096;
  for (let pgno = 1; pgno <= image.pageCount; pgno++) {
    image.pages.push({ pgno, data: base.slice((pgno - 1) * 4096, pgno * 4096) });
  }
  client.resetBase(image);
  client.applyFrames(authority.frames.slice(3));
  expect(await client.pageHash()).toBe(await authority.replica.pageHash());
  client.close();
  authority.replica.close();
});

test('a migration runs in a fresh instance: what the instance ran before cannot change its outcome', async () => {
  const wat = minimalGuest('(global $used (mut i32) (i32.const 0)) (data (i32.const 256) "used")')
    .replace(
      '(func (export "schema-version") (result i32) (i32.const 1))',
      '(func (export "schema-version") (result i32) (global.set $used (i32.const 1)) (i32.const 1))',
    )
    .replace(
      '(func (export "migrate") (param i32) (result i32) (i32.store8 (i32.const 16) (i32.const 0)) (i32.const 16))',
      `(func (export "migrate") (param i32) (result i32)
        (i32.store8 (i32.const 16) (global.get $used))
        (i32.store (i32.const 20) (i32.const 256))
        (i32.store (i32.const 24) (i32.const 4))
        (i32.const 16))`,
    );
  const stateful = await loadReducer(await component(wat));
  const replica = await Replica.open({ name: 'fresh-migration', reducer: stateful });
  expect(replica.reducerVersion).toBe(1);
  expect(replica.transaction(() => replica.migrate(0, 1))).toEqual({ ok: true });
  replica.close();
});
