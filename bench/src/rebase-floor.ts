// The rebase's floor, shared by Node and the Chromium page: raw sqlite-wasm running the same 1,001 puts
// over the same 1,000 keys, one prepared statement, in one transaction, nothing else.
import type sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import type { Put } from './rebase-page-api.js';

type Sqlite3 = Awaited<ReturnType<typeof sqlite3InitModule>>;

export interface Floor {
  run(): void;
  close(): void;
}

export function kvFloor(sqlite3: Sqlite3, base: readonly Put[], pending: readonly Put[]): Floor {
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  db.exec(`PRAGMA page_size=4096; PRAGMA journal_mode=MEMORY;
    CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
  const puts = (rows: readonly Put[]) => {
    db.exec('BEGIN');
    const insert = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
    for (const put of rows) insert.bind([put.key, put.value]).stepReset();
    insert.finalize();
    db.exec('COMMIT');
  };
  puts(base);
  return { run: () => puts(pending), close: () => db.close() };
}
