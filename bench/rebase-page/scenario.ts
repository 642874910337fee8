// The rebase scenario in Chromium: a document of host-browser (in memory, as a document is before its
// OPFS files matter to a rebase), the same steps as the Node bench (rebase.ts), and its floor (raw
// sqlite-wasm, the same puts) interleaved run by run. Runs in the worker (worker.ts), or in the page
// itself when the bench profiles it (a page's CPU profile is what DevTools can record).
import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { openDocument } from '@tandem/host-browser/worker';
import { receiveBurst } from '../src/rebase-client.js';
import { kvFloor } from '../src/rebase-floor.js';
import type { RebaseInput, RebaseReply } from '../src/rebase-page-api.js';

interface Scope {
  sqlite3ApiConfig?: object;
}
const scope = globalThis as unknown as Scope;

const bytes = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

/** sqlite-wasm configured as the runtime configures it (runtime sqlite.ts): quiet, no OPFS VFSes. */
async function floorSqlite(): Promise<Sqlite3Static> {
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

export async function runScenario(input: RebaseInput): Promise<RebaseReply> {
  const doc = await openDocument({ docId: 'rebase-bench', reducer: input.reducerUrl });
  for (const message of input.baseMessages) await receiveBurst(doc, input.journalId, bytes(message));
  const results = await doc.mutateBatch(input.pending);
  const refused = results.find((r) => r.status !== 'applied');
  if (refused !== undefined) return { error: `a pending put was not applied: ${JSON.stringify(refused)}` };
  const floor = kvFloor(await floorSqlite(), input.basePuts, input.pending);
  const bursts = input.bursts.map(bytes);
  const ours: number[] = [];
  const floors: number[] = [];
  for (const [run, burst] of bursts.entries()) {
    let start = performance.now();
    await receiveBurst(doc, input.journalId, burst);
    const oursMs = performance.now() - start;
    start = performance.now();
    floor.run();
    const floorMs = performance.now() - start;
    if (run < input.warmUp) continue;
    ours.push(oursMs);
    floors.push(floorMs);
  }
  const [row] = await doc.query('SELECT v, (SELECT count(*) FROM kv) AS n FROM kv WHERE k = ?', ['k0']);
  floor.close();
  await doc.close();
  return { ours, floor: floors, k0: row?.v, rows: row?.n };
}
