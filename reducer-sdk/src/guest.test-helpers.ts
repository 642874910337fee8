// Test support: builds reducers from fixtures or inline sources into temporary folders, and runs
// them through jco's own transpiled bindings (an implementation of the canonical ABI independent of
// this SDK's glue and of the runtime's host), with a fake SQL host that records every call.

import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transpile } from '@bytecodealliance/jco';
import { type BuildResult, buildReducer } from './build.js';

const FIXTURES = new URL('../test-fixtures/', import.meta.url);

/** The todo example's folder (tests build copies of it, never the folder other packages read). */
export const TODO_DIR = new URL('../../reducers/todo/', import.meta.url);

/**
 * A reducer folder in a fresh temporary directory: a copy of a folder (its `assembly/` and
 * `package.json`), a fixture of `test-fixtures/`, or `index.ts` source text.
 */
export async function reducerDir(
  from: { copy: URL } | { fixture: string } | { source: string },
  name = 'test-reducer',
) {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-sdk-'));
  if ('copy' in from || 'fixture' in from) {
    const src = 'copy' in from ? from.copy : new URL(`${from.fixture}/`, FIXTURES);
    await cp(new URL('assembly/', src), join(dir, 'assembly'), { recursive: true });
    await cp(new URL('package.json', src), join(dir, 'package.json'));
  } else {
    await mkdir(join(dir, 'assembly'));
    await writeFile(join(dir, 'assembly', 'index.ts'), from.source);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name, private: true }));
  }
  return dir;
}

export async function buildFixture(fixture: string): Promise<BuildResult> {
  return buildReducer(await reducerDir({ fixture }));
}

export type SqlValue =
  | { tag: 'null' }
  | { tag: 'integer'; val: bigint }
  | { tag: 'real'; val: number }
  | { tag: 'text'; val: string }
  | { tag: 'blob'; val: Uint8Array };

export interface RowSet {
  columns: string[];
  rows: SqlValue[][];
}

export interface JcoMutation {
  timelineId: string;
  lsn: bigint;
  timestamp: bigint;
  payload: Uint8Array;
}

export type JcoOutcome = { tag: 'ok' } | { tag: 'err'; val: string };

/** The world's exports as jco binds them. */
export interface JcoReducer {
  schemaVersion(): number;
  migrate(fromVersion: number): void;
  reduce(batch: JcoMutation[]): JcoOutcome[];
}

export type Call =
  | { fn: 'execute'; sql: string; params: SqlValue[] }
  | { fn: 'executeBatch'; sql: string; rows: SqlValue[][] }
  | { fn: 'query'; sql: string; params: SqlValue[] };

/**
 * A host that records calls. Statements starting with FAIL are SQL errors; `query` answers `rowSet`.
 * The envelope of the current mutation (set by the test per batch, followed through `enter`) gives
 * `now` and a `random` stream that depends on the envelope alone.
 */
export class FakeHost {
  readonly calls: Call[] = [];
  readonly logs: [string, string][] = [];
  readonly entered: number[] = [];
  rowSet: RowSet = { columns: [], rows: [] };
  envelopes: JcoMutation[] = [
    { timelineId: 'migration', lsn: 0n, timestamp: 42n, payload: new Uint8Array() },
  ];
  private current = 0;
  private draws = 0;
  /** How many times the guest asked for randomness, in all. */
  randomCalls = 0;

  imports() {
    // jco takes a thrown non-Error as the import's err: here a sql-error (code 1, SQLITE_ERROR).
    const fail = (sql: string) => {
      if (sql.startsWith('FAIL')) throw { code: 1, message: `no such table: ${sql}` };
    };
    return {
      'tandem:reducer/sql': {
        execute: (sql: string, params: SqlValue[]) => {
          this.calls.push({ fn: 'execute', sql, params });
          fail(sql);
          return BigInt(params.length);
        },
        executeBatch: (sql: string, rows: SqlValue[][]) => {
          this.calls.push({ fn: 'executeBatch', sql, rows });
          fail(sql);
          return BigInt(rows.length);
        },
        query: (sql: string, params: SqlValue[]) => {
          this.calls.push({ fn: 'query', sql, params });
          fail(sql);
          return this.rowSet;
        },
      },
      'tandem:reducer/env': {
        log: (level: string, message: string) => void this.logs.push([level, message]),
        enter: (index: number) => {
          this.entered.push(index);
          this.current = index;
          this.draws = 0;
        },
        now: () => this.envelope().timestamp,
        random: () => {
          this.randomCalls++;
          const e = this.envelope();
          let h = 0xcbf29ce484222325n;
          for (const c of `${e.timelineId}/${e.lsn}/${this.draws++}`) {
            h = ((h ^ BigInt(c.charCodeAt(0))) * 0x100000001b3n) & 0xffffffffffffffffn;
          }
          return h;
        },
      },
    };
  }

  /** Runs `reduce` with the host following the batch's envelopes. */
  reduce(reducer: JcoReducer, batch: JcoMutation[]): JcoOutcome[] {
    this.envelopes = batch;
    this.current = 0;
    this.draws = 0;
    return reducer.reduce(batch);
  }

  private envelope(): JcoMutation {
    const e = this.envelopes[this.current];
    if (e === undefined) throw new Error(`enter(${this.current}) is outside the batch`);
    return e;
  }
}

interface JcoBindings {
  instantiate(
    getCoreModule: (path: string) => Promise<WebAssembly.Module>,
    imports: ReturnType<FakeHost['imports']>,
  ): Promise<JcoReducer>;
}

/** Transpiles `component` with jco into a temporary folder; returns a function that instantiates it. */
export async function jcoBindings(component: Uint8Array) {
  const { files } = await transpile(component, { name: 'reducer', instantiation: 'async' });
  const dir = await mkdtemp(join(tmpdir(), 'tandem-jco-'));
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), bytes);
  }
  const bindings = (await import(pathToFileURL(join(dir, 'reducer.js')).href)) as JcoBindings;
  return async (host: FakeHost): Promise<JcoReducer> =>
    bindings.instantiate(async (path) => {
      const bytes = files[path];
      if (bytes === undefined) throw new Error(`jco asked for an unknown core module ${path}`);
      return WebAssembly.compile(new Uint8Array(bytes));
    }, host.imports());
}

export function mutation(payload: string | Uint8Array, lsn = 0, timelineId = 'timeline-a'): JcoMutation {
  return {
    timelineId,
    lsn: BigInt(lsn),
    timestamp: 1_700_000_000_000n + BigInt(lsn),
    payload: typeof payload === 'string' ? new TextEncoder().encode(payload) : payload,
  };
}
