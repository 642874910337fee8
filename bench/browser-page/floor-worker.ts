// The floor: what SQLite alone does behind a worker boundary. A dedicated worker with raw sqlite-wasm
// answers the page's messages; nothing of Tandem is loaded here.
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import type { FromFloor, ToFloor } from './floor-protocol.js';
import { subscriptionSql, todoTitle } from './queries.js';

interface Scope {
  postMessage(message: FromFloor): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToFloor>) => void): void;
  sqlite3ApiConfig?: object;
}

const scope = globalThis as unknown as Scope;
let db: Database | undefined;

/** sqlite-wasm configured as the runtime configures it (runtime sqlite.ts): quiet, no OPFS VFSes. */
async function load(): Promise<Sqlite3Static> {
  scope.sqlite3ApiConfig = {
    warn: () => {},
    debug: () => {},
    disable: { vfs: { opfs: true, 'opfs-vfs': true, 'opfs-sahpool': true, 'opfs-wl': true } },
  };
  try {
    return await sqlite3InitModule();
  } finally {
    delete scope.sqlite3ApiConfig;
  }
}

/**
 * An in-memory database: the cheapest any design could be. (A floor kept in OPFS through opfs-sahpool
 * flushes each commit to disk, some 13 ms here, which a Tandem mutation does not wait for: no floor.)
 */
async function start(todos: number): Promise<void> {
  const sqlite3 = await load();
  db = new sqlite3.oo1.DB(':memory:');
  db.exec(
    'CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT NOT NULL, completed INTEGER NOT NULL, created_at INTEGER NOT NULL)',
  );
  db.transaction((tx) => {
    for (let i = 0; i < todos; i++) {
      tx.exec('INSERT INTO todos (id, title, completed, created_at) VALUES (?, ?, 0, ?)', {
        bind: [`t${i}`, todoTitle(i), i],
      });
    }
  });
}

function answer(message: ToFloor): Promise<FromFloor> | FromFloor {
  switch (message.type) {
    case 'start':
      return start(message.todos).then(() => ({ type: 'started' }));
    case 'toggle': {
      if (db === undefined) throw new Error('the floor was not started');
      db.exec('UPDATE todos SET completed = 1 - completed WHERE id = ?', { bind: [message.id] });
      const params = message.shape === 'one' ? [message.id] : [];
      return { type: 'rows', rows: db.selectObjects(subscriptionSql(message.shape), params) };
    }
    case 'open-empty':
      return load().then((sqlite3) => {
        const empty = new sqlite3.oo1.DB(':memory:');
        const rows = empty.selectObjects('SELECT count(*) AS n FROM sqlite_master');
        empty.close();
        return { type: 'rows', rows };
      });
  }
}

scope.addEventListener('message', ({ data }) => {
  Promise.resolve()
    .then(() => answer(data))
    .then(
      (reply) => scope.postMessage(reply),
      (error: unknown) =>
        scope.postMessage({
          type: 'failed',
          message: error instanceof Error ? error.message : String(error),
        }),
    );
});
