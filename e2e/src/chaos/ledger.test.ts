// The chaos run's end checks, on made-up histories: each fault it exists to catch must show up as a
// problem, and a clean history must show none (so a passing chaos run means something).
import { expect, test } from 'vitest';
import { ClientLedger, checkClient, checkRows, type FinalState } from './ledger.js';
import type { ClientReport, Fate } from './messages.js';

/** Client 0: creates a and b, toggles a twice, all in one incarnation with the timeline `t`. */
function cleanLedger(): ClientLedger {
  const ledger = new ClientLedger(0);
  const reports: ClientReport[] = [
    { type: 'opened', timelineId: 't', replayed: 0, pending: 0 },
    { type: 'attempt', id: 'a', kind: 'create' },
    { type: 'resolved', id: 'a', kind: 'create', lsn: 0, status: 'applied' },
    { type: 'attempt', id: 'b', kind: 'create' },
    { type: 'resolved', id: 'b', kind: 'create', lsn: 1, status: 'applied' },
    { type: 'attempt', id: 'a', kind: 'toggle' },
    { type: 'resolved', id: 'a', kind: 'toggle', lsn: 2, status: 'applied' },
    { type: 'attempt', id: 'a', kind: 'toggle' },
    { type: 'resolved', id: 'a', kind: 'toggle', lsn: 3, status: 'applied' },
  ];
  for (const report of reports) ledger.record(report, 0);
  ledger.incarnation = 0;
  return ledger;
}

const confirmed = (...lsns: number[]): Fate[] => lsns.map((lsn) => ({ lsn, status: 'confirmed' }));
const final = (fates: Fate[], rows: [string, number][]): FinalState => ({
  fates,
  unsettled: [],
  rows: rows.map(([id, completed]) => ({ id, completed })),
  duplicates: 0,
});
const authority = (rows: [string, number][]) => new Map(rows);

test('a clean history passes every check', () => {
  const rows: [string, number][] = [
    ['a', 0],
    ['b', 0],
  ];
  const ledger = cleanLedger();
  expect(checkClient(ledger, final(confirmed(0, 1, 2, 3), rows), authority(rows))).toEqual([]);
  expect(checkRows([ledger], [final(confirmed(0, 1, 2, 3), rows)], authority(rows), new Set())).toEqual([]);
});

test('a create applied a second time (rejected as already existing) is reported', () => {
  const rows: [string, number][] = [
    ['a', 0],
    ['b', 0],
  ];
  const fates: Fate[] = [
    ...confirmed(0, 2, 3),
    { lsn: 1, status: 'rejected', reason: "a todo with id 'b' already exists" },
  ];
  const problems = checkClient(cleanLedger(), final(fates, rows), authority(rows));
  expect(problems.join('\n')).toContain("create b (lsn 1): a todo with id 'b' already exists");
});

test('a toggle applied twice shows as the wrong completed flag', () => {
  const rows: [string, number][] = [
    ['a', 1],
    ['b', 0],
  ];
  const problems = checkClient(cleanLedger(), final(confirmed(0, 1, 2, 3), rows), authority(rows));
  expect(problems.join('\n')).toContain('a: 2 toggles confirmed, completed = 1');
});

test('a confirmed create missing from the coordinator is reported', () => {
  const rows: [string, number][] = [['a', 0]];
  const problems = checkClient(cleanLedger(), final(confirmed(0, 1, 2, 3), rows), authority(rows));
  expect(problems.join('\n')).toContain('confirmed creates are not in the coordinator');
});

test('one lsn given to two resolved mutations, and a new timeline after a restart, are reported', () => {
  const ledger = cleanLedger();
  ledger.record({ type: 'opened', timelineId: 'u', replayed: 0, pending: 0 }, 1);
  ledger.record({ type: 'attempt', id: 'c', kind: 'create' }, 1);
  ledger.record({ type: 'resolved', id: 'c', kind: 'create', lsn: 3, status: 'applied' }, 1);
  const rows: [string, number][] = [
    ['a', 0],
    ['b', 0],
    ['c', 0],
  ];
  const problems = checkClient(ledger, final(confirmed(0, 1, 2, 3), rows), authority(rows)).join('\n');
  expect(problems).toContain('changed timeline across restarts (t → u)');
  expect(problems).toContain('lsn 3 (a, then c)');
});

test('undecided fates, a stuck fate and rows no one wrote are reported', () => {
  const rows: [string, number][] = [
    ['a', 0],
    ['b', 0],
    ['z', 0],
  ];
  const ledger = cleanLedger();
  ledger.record({ type: 'fate-failed', lsn: 3, error: 'SyncFailure: reset' }, 0);
  const state: FinalState = { ...final(confirmed(0, 1, 2), rows), unsettled: [{ lsn: 3 }] };
  const problems = [
    ...checkClient(ledger, state, authority(rows)),
    ...checkRows([ledger], [state], authority(rows), new Set()),
  ].join('\n');
  expect(problems).toContain('fate(3) rejected while syncing: SyncFailure: reset');
  expect(problems).toContain('the fate of 1 resolved mutations never settled: lsns 3');
  expect(problems).toContain('todos no one created: z');
});
