// Test-only: a client LocalDocument and an authority replica (a coordinator in miniature) that run each
// mutation's payload as one SQL statement, so tests can write any table. The authority records which
// client mutations it took in `marker`, which the client reads back as its applied marker.
import type { Frame } from '../frame.js';
import { LocalDocument } from '../local-document.js';
import { component, SQL_GUEST } from '../reducer/fixtures.test-helpers.js';
import type { MutationEnvelope } from '../reducer/host.js';
import { loadReducer } from '../reducer/prepare.js';
import { Replica } from '../replica.js';
import { type PlainValue, toPlain } from '../value.js';

export const sqlReducer = await loadReducer(await component(SQL_GUEST));

const encoder = new TextEncoder();
export const sqlPayload = (sql: string): Uint8Array => encoder.encode(sql);

let opened = 0;

export interface Authority {
  readonly replica: Replica;
  readonly frames: Frame[];
  /** Runs statements as another client's mutations, in one transaction (one frame, if anything changed). */
  write(statements: readonly string[]): void;
  /** Takes the client's mutations (as the coordinator would) and records the last one's lsn in `marker`. */
  take(mutations: readonly MutationEnvelope[]): void;
}

export async function openAuthority(schema: string): Promise<Authority> {
  const frames: Frame[] = [];
  const replica = await Replica.open({
    name: `authority-${++opened}`,
    reducer: sqlReducer,
    authoritative: true,
    onFrame: (frame) => frames.push(frame),
  });
  replica.transaction(() =>
    replica.connection.exec(`${schema}; CREATE TABLE marker(lsn INTEGER); INSERT INTO marker VALUES (-1)`),
  );
  let otherLsn = 0;
  return {
    replica,
    frames,
    write: (statements) => {
      replica.applyBatch(
        statements.map((sql) => ({
          timelineId: 'other',
          lsn: otherLsn++,
          timestamp: 0,
          payload: sqlPayload(sql),
        })),
      );
    },
    take: (mutations) => {
      const last = mutations.at(-1);
      if (last === undefined) return;
      replica.applyBatch(mutations, () =>
        replica.connection.execute('UPDATE marker SET lsn = ?', [{ tag: 'integer', val: BigInt(last.lsn) }]),
      );
    },
  };
}

export interface Client {
  readonly document: LocalDocument;
  readonly replica: Replica;
  /** How many times each SQL text ran through the replica's `queryValues` (subscriptions run theirs there). */
  readonly runs: Map<string, number>;
  /** Runs a query without counting it. */
  query(sql: string): Record<string, PlainValue>[];
  /** Rebases on the authority's frames it has not seen yet (all of them the first time). */
  catchUp(authority: Authority): void;
  /** Rebases on an image of the authority's base instead of its frames. */
  snapshot(authority: Authority): void;
}

export async function openClient(): Promise<Client> {
  const replica = await Replica.open({ name: `client-${++opened}`, reducer: sqlReducer });
  const runs = new Map<string, number>();
  // Not through `queryValues`, which counts.
  const query = (sql: string): Record<string, PlainValue>[] => {
    const { columns, rows } = replica.connection.query(sql, []);
    return rows.map((row) => Object.fromEntries(columns.map((column, i) => [column, toPlain(row[i]!)])));
  };
  const queryValues = replica.queryValues.bind(replica);
  replica.queryValues = (sql, params) => {
    runs.set(sql, (runs.get(sql) ?? 0) + 1);
    return queryValues(sql, params);
  };
  const appliedLsn = (): number => {
    try {
      return Number(query('SELECT lsn FROM marker')[0]?.lsn ?? -1);
    } catch {
      return -1;
    }
  };
  const document = new LocalDocument({
    docId: `client-${opened}`,
    timelineId: 'client',
    timelineSecret: 'c'.repeat(64),
    replica,
    migration: { fromVersion: 0, toVersion: 0, migrated: false },
    readAppliedLsn: appliedLsn,
  });
  let delivered = 0;
  return {
    document,
    replica,
    runs,
    query: (sql) => query(sql),
    catchUp: (authority) => {
      document.rebase({ journalId: 'j', frames: authority.frames.slice(delivered) });
      delivered = authority.frames.length;
    },
    snapshot: (authority) => {
      const base = authority.replica.store.base();
      document.rebase({
        journalId: 'j',
        snapshot: {
          frameCount: authority.frames.length,
          pageCount: base.pageCount,
          pages: [...base.pages()],
          hash: '',
        },
        frames: [],
      });
      delivered = authority.frames.length;
    },
  };
}

/** Lets every pass that is due run (they run in microtasks). */
export const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
