// SQLite's load in Node, with V8's wasm tier-up held back until SQLite has run for a while.
//
// Why: V8 runs a wasm function in Liftoff (baseline) code and recompiles it with TurboFan once it has
// spent a budget of executed code (--wasm-tiering-budget, 1,800,000 in V8 11.3). SQLite's VDBE loop
// and its parser are so large that an open's few statements spend that budget: a process that opens one
// document then spends ~200 ms of CPU (measured: 188–214 ms for sqlite3VdbeExec, 95–125 ms for the
// parser, --trace-wasm-compilation-times) recompiling them on a background thread while the open runs
// on the same two cores (with sqlite-wasm's JavaScript glue, before the runtime loaded sqlite3.wasm
// itself, its one-shot init functions were recompiled too). Each instance's budgets are set when it is
// created, so the budget is raised only while sqlite3.wasm's instance is created, then put back: SQLite's functions tier up once they have run ~50 times longer than usual
// (a few ms of real work), and every later budget is V8's own.
//
// Invariants:
// 1. Only the V8 version whose default was read (11.3) is touched, and never when the process was given
//    its own --wasm-tiering-budget: the value put back is then V8's default, not a guess.
// 2. The raised budget applies only to instances created while SQLite loads (once per process).

import { setFlagsFromString } from 'node:v8';
import { loadSqlite, type Sqlite3 } from '@tandem/runtime/local';

const V8_DEFAULT_BUDGET = 1_800_000;
const BOOT_BUDGET = 100_000_000;
const FLAG = '--wasm-tiering-budget';

let loading: Promise<Sqlite3> | undefined;

export function loadSqliteForBoot(): Promise<Sqlite3> {
  if (loading !== undefined) return loading;
  if (!budgetIsOurs()) {
    loading = loadSqlite();
    return loading;
  }
  setFlagsFromString(`${FLAG}=${BOOT_BUDGET}`);
  loading = loadSqlite().finally(() => setFlagsFromString(`${FLAG}=${V8_DEFAULT_BUDGET}`));
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

function budgetIsOurs(): boolean {
  if (!process.versions.v8.startsWith('11.3.')) return false;
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => arg.includes(FLAG));
  return !given;
}
