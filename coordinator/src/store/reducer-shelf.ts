// Where the reducer registry (reducer-registry.ts) keeps every reducer it ran and the one deployed last:
// `.reducers/` in a data folder, or the `reducers` tables of a PostgreSQL store.
//
// Invariants:
// 1. A reducer is kept durably before `keep` resolves, and `setCurrent` only names a kept one.
// 4. `setCurrent` is a compare-and-set: it names the new reducer only while the current one is still
//    the one its caller read (two coordinators deploying at once: the second learns it lost and reads
//    again, reducer-registry.ts), and, on PostgreSQL, never one of a lower schema version than the
//    current one's. A data folder has one coordinator (its lock, data-folder.ts): there the compare
//    runs under a lock of this process.
// 2. What `kept` returns hashes to its name: a damaged one stops the start, none is dropped.
// 3. `order` grows with each `keep` (a reducer kept again is the newest of its schema version again).
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type pg from 'pg';

export interface KeptReducer {
  readonly sha256: string;
  /** Prepared. */
  readonly bytes: Uint8Array;
  /** When it was kept, relative to the others (invariant 3). */
  readonly order: bigint;
}

export interface ReducerShelf {
  /** Where it is, for messages. */
  readonly where: string;
  kept(): Promise<KeptReducer[]>;
  /** The SHA-256 of the reducer deployed last, if any. */
  current(): Promise<string | undefined>;
  keep(reducer: {
    readonly sha256: string;
    readonly bytes: Uint8Array;
    readonly schemaVersion: number;
  }): Promise<void>;
  /**
   * Names `sha256` current if the current one is still `expected` (undefined: none yet); false, and
   * nothing changed, otherwise (invariant 4).
   */
  setCurrent(sha256: string, expected: string | undefined): Promise<boolean>;
}

/** Where a data folder keeps deployed reducers: a dot-name, which no document's folder can have. */
export const REDUCERS_FOLDER = '.reducers';

export function fileReducerShelf(dataDir: string): ReducerShelf {
  const folder = join(dataDir, REDUCERS_FOLDER);
  const readCurrent = async () =>
    (await readFile(join(folder, 'current'), 'utf8').catch(() => undefined))?.trim();
  return {
    where: folder,
    kept: async () => {
      const names = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
      });
      const kept: KeptReducer[] = [];
      for (const name of names) {
        const match = /^([0-9a-f]{64})\.wasm$/.exec(name);
        if (match === null) continue;
        const path = join(folder, name);
        const bytes = new Uint8Array(await readFile(path));
        checkHash(bytes, match[1]!, path);
        // A deploy writes its file: the time it was written orders reducers of one schema version.
        const { mtimeNs } = await stat(path, { bigint: true });
        kept.push({ sha256: match[1]!, bytes, order: mtimeNs });
      }
      return kept;
    },
    current: readCurrent,
    keep: async (reducer) => {
      await mkdir(folder, { recursive: true });
      await writeDurably(join(folder, `${reducer.sha256}.wasm`), reducer.bytes);
    },
    setCurrent: (sha256, expected) => {
      const run = (settingCurrent.get(folder) ?? Promise.resolve()).then(async () => {
        if ((await readCurrent()) !== expected) return false;
        await writeDurably(join(folder, 'current'), new TextEncoder().encode(`${sha256}\n`));
        return true;
      });
      settingCurrent.set(
        folder,
        run.catch(() => undefined),
      );
      return run;
    },
  };
}

/** The compare-and-sets in flight, by folder (invariant 4). */
const settingCurrent = new Map<string, Promise<unknown>>();

export function postgresReducerShelf(pool: pg.Pool): ReducerShelf {
  return {
    where: 'the PostgreSQL store (table reducers)',
    kept: async () => {
      const rows = await pool.query<{ sha256: string; bytes: Buffer; kept_seq: string }>(
        'SELECT sha256, bytes, kept_seq FROM reducers',
      );
      return rows.rows.map((row) => {
        const bytes = new Uint8Array(row.bytes);
        checkHash(bytes, row.sha256, `reducers row ${row.sha256}`);
        return { sha256: row.sha256, bytes, order: BigInt(row.kept_seq) };
      });
    },
    current: async () =>
      (await pool.query<{ sha256: string }>('SELECT sha256 FROM current_reducer')).rows[0]?.sha256,
    keep: async (reducer) => {
      await pool.query(
        `INSERT INTO reducers (sha256, bytes, schema_version) VALUES ($1, $2, $3)
         ON CONFLICT (sha256) DO UPDATE SET kept_seq = nextval(pg_get_serial_sequence('reducers', 'kept_seq'))`,
        [reducer.sha256, reducer.bytes, reducer.schemaVersion],
      );
    },
    setCurrent: async (sha256, expected) => {
      const set =
        expected === undefined
          ? await pool.query(
              'INSERT INTO current_reducer (only_row, sha256) VALUES (true, $1) ON CONFLICT (only_row) DO NOTHING',
              [sha256],
            )
          : await pool.query(
              `UPDATE current_reducer SET sha256 = $1
               WHERE sha256 = $2
                 AND (SELECT schema_version FROM reducers WHERE sha256 = $1)
                   >= (SELECT schema_version FROM reducers WHERE sha256 = $2)`,
              [sha256, expected],
            );
      return set.rowCount === 1;
    },
  };
}

function checkHash(bytes: Uint8Array, sha256: string, where: string): void {
  if (createHash('sha256').update(bytes).digest('hex') !== sha256) {
    throw new Error(`${where} does not hash to its name: a kept reducer is damaged`);
  }
}

let temporaries = 0;

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  // Unique within the process too: two writes of one file may overlap (coordinators of a test).
  const temporary = `${path}.tmp-${process.pid}-${++temporaries}`;
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  // The rename is durable once its folder is synced.
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
