// The floor of a boot: a new dedicated worker with raw sqlite-wasm (configured as the runtime configures
// it) that reads a SQLite file from OPFS, opens it in memory and answers the query. Nothing of Tandem.
import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { COUNT_TODOS, type FromFloor, TODOS_TABLE, type ToFloor, todo } from './queries.js';

interface Scope {
  postMessage(message: FromFloor): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToFloor>) => void): void;
  sqlite3ApiConfig?: object;
}

const scope = globalThis as unknown as Scope;

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

async function write(name: string, count: number): Promise<FromFloor> {
  const sqlite3 = await load();
  const db = new sqlite3.oo1.DB(':memory:');
  db.exec('PRAGMA page_size = 4096');
  db.exec(TODOS_TABLE);
  db.transaction((tx) => {
    for (let i = 0; i < count; i++) {
      const { id, title } = todo(i);
      tx.exec('INSERT INTO todos (id, title, completed, created_at) VALUES (?, ?, 0, ?)', {
        bind: [id, title, i],
      });
    }
  });
  const bytes = sqlite3.capi.sqlite3_js_db_export(db);
  db.close();
  const root = await navigator.storage.getDirectory();
  const writable = await (await root.getFileHandle(name, { create: true })).createWritable();
  await writable.write(bytes);
  await writable.close();
  return { type: 'written' };
}

async function open(name: string): Promise<FromFloor> {
  const sqlite3 = await load();
  const root = await navigator.storage.getDirectory();
  const bytes = new Uint8Array(await (await (await root.getFileHandle(name)).getFile()).arrayBuffer());
  const db = new sqlite3.oo1.DB(':memory:');
  const { capi, wasm } = sqlite3;
  const pointer = wasm.allocFromTypedArray(bytes);
  const flags = capi.SQLITE_DESERIALIZE_FREEONCLOSE | capi.SQLITE_DESERIALIZE_RESIZEABLE;
  const rc = capi.sqlite3_deserialize(db.pointer!, 'main', pointer, bytes.length, bytes.length, flags);
  if (rc !== 0) throw new Error(`sqlite3_deserialize: ${rc}`);
  const rows = db.selectObjects(COUNT_TODOS);
  db.close();
  return { type: 'rows', n: Number(rows[0]?.n) };
}

scope.addEventListener('message', ({ data }) => {
  const reply =
    data.type === 'write'
      ? write(data.name, data.count)
      : data.type === 'open'
        ? open(data.name)
        : Promise.resolve<FromFloor>({ type: 'pong' });
  reply.then(
    (reply) => scope.postMessage(reply),
    (error: unknown) =>
      scope.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
  );
});
