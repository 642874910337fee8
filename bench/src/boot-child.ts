// One boot, in a process of its own (bench/src/boot.ts starts it): the clock starts at this module's
// first line, before anything of Tandem or SQLite is imported, and stops at the first query's answer.
// `ours`: host-node opens a document kept in a data folder; `floor`: raw sqlite-wasm opens a SQLite
// file holding the same rows. Prints one JSON line (BootTiming).
import { readFile } from 'node:fs/promises';

const started = performance.now();
const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

export interface BootTiming {
  /** Importing the library (host-node, or sqlite-wasm for the floor). */
  readonly importMs: number;
  /** CPU time (user + system) of that import: less noisy than its wall time on a loaded machine (older builds lack it). */
  readonly importCpuMs?: number;
  /** Opening: openDocument, or sqlite-wasm's init and the database file's load. */
  readonly openMs: number;
  /** From the first line to the first query's answer. */
  readonly totalMs: number;
  /** Node's own start before this module ran (not part of totalMs). */
  readonly nodeStartMs: number;
  /** CPU time (user + system) of the open and the query, less sensitive than wall time to a loaded machine. */
  readonly openCpuMs: number;
  readonly rows: number;
  /** How many pending mutations the reducer ran again at open (ours). */
  readonly rerun?: number;
}

const [side, dataDir, docId, reducer, query, coordinatorUrl] = process.argv.slice(2);
if (side === undefined || dataDir === undefined || docId === undefined || query === undefined) {
  throw new Error('usage: boot-child ours|floor <dataDir|dbFile> <docId> <reducer> <query> [coordinatorUrl]');
}

async function ours(): Promise<BootTiming> {
  const startedCpu = cpuMs();
  const { openDocument } = await import('@tandem/host-node');
  const imported = performance.now();
  const importedCpu = cpuMs();
  const doc = await openDocument({
    docId: docId!,
    reducer: reducer!,
    dataDir: dataDir!,
    ...(coordinatorUrl !== undefined && coordinatorUrl !== '' && { coordinatorUrl }),
  });
  const opened = performance.now();
  const rows = await doc.query(query!);
  const answered = performance.now();
  const openCpuMs = cpuMs() - importedCpu;
  const timing: BootTiming = {
    openCpuMs,
    importCpuMs: importedCpu - startedCpu,
    importMs: imported - started,
    openMs: opened - imported,
    totalMs: answered - started,
    nodeStartMs: started,
    rows: Number(rows[0]?.n),
    rerun: doc.rerun,
  };
  await doc.close();
  return timing;
}

async function floor(): Promise<BootTiming> {
  const startedCpu = cpuMs();
  const { default: sqlite3InitModule } = await import('@sqlite.org/sqlite-wasm');
  const imported = performance.now();
  const importedCpu = cpuMs();
  const sqlite3 = await sqlite3InitModule();
  const file = await readFile(dataDir!);
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  const db = new sqlite3.oo1.DB(':memory:');
  const { capi, wasm } = sqlite3;
  const pointer = wasm.allocFromTypedArray(bytes);
  const rc = capi.sqlite3_deserialize(
    db.pointer!,
    'main',
    pointer,
    bytes.length,
    bytes.length,
    capi.SQLITE_DESERIALIZE_FREEONCLOSE | capi.SQLITE_DESERIALIZE_RESIZEABLE,
  );
  if (rc !== 0) throw new Error(`sqlite3_deserialize: ${rc}`);
  const opened = performance.now();
  const rows = db.selectObjects(query!);
  const answered = performance.now();
  const openCpuMs = cpuMs() - importedCpu;
  db.close();
  return {
    openCpuMs,
    importCpuMs: importedCpu - startedCpu,
    importMs: imported - started,
    openMs: opened - imported,
    totalMs: answered - started,
    nodeStartMs: started,
    rows: Number(rows[0]?.n),
  };
}

const timing = side === 'ours' ? await ours() : await floor();
process.stdout.write(`${JSON.stringify(timing)}\n`);
// The WebSocket of a syncing document, or sqlite-wasm's handles, must not hold the process.
process.exit(0);
