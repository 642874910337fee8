// What the chaos test knows about each client from its reports, across its restarts, and the
// invariants checked against it at the end. Each broken invariant becomes one line of a report, so a
// failing run says everything that went wrong at once.
import type { ClientReport, Fate, MutationKind, TodoRow } from './messages.js';

export interface Resolved {
  readonly id: string;
  readonly kind: MutationKind;
  readonly lsn: number;
  readonly incarnation: number;
}

export class ClientLedger {
  readonly client: number;
  /** The timeline id each incarnation opened with. */
  readonly timelines: string[] = [];
  /** Every id a mutation was attempted on, with how many attempts of each kind. */
  readonly attempts = new Map<string, { create: number; toggle: number }>();
  readonly resolved: Resolved[] = [];
  /** Fates as the clients reported them while running. */
  readonly liveFates = new Map<number, Fate>();
  /** mutate or fate rejected, a crash: each is a broken invariant. */
  readonly failures: string[] = [];
  incarnation = -1;

  constructor(client: number) {
    this.client = client;
  }

  record(report: ClientReport, incarnation: number): void {
    switch (report.type) {
      case 'opened':
        this.timelines[incarnation] = report.timelineId;
        return;
      case 'attempt': {
        const counts = this.attempts.get(report.id) ?? { create: 0, toggle: 0 };
        counts[report.kind]++;
        this.attempts.set(report.id, counts);
        return;
      }
      case 'resolved':
        this.resolved.push({ id: report.id, kind: report.kind, lsn: report.lsn, incarnation });
        return;
      case 'fate': {
        const earlier = this.liveFates.get(report.fate.lsn);
        if (earlier !== undefined && earlier.status !== report.fate.status) {
          this.failures.push(
            `lsn ${report.fate.lsn} was reported ${earlier.status}, then ${report.fate.status}`,
          );
        }
        this.liveFates.set(report.fate.lsn, report.fate);
        return;
      }
      case 'fate-failed':
        this.failures.push(`fate(${report.lsn}) rejected while syncing: ${report.error}`);
        return;
      case 'mutate-failed':
        this.failures.push(`mutate of ${report.id} (incarnation ${incarnation}) rejected: ${report.error}`);
        return;
      case 'crashed':
        this.failures.push(`incarnation ${incarnation} crashed: ${report.error}`);
        return;
      default:
        return;
    }
  }
}

export interface FinalState {
  readonly fates: readonly Fate[];
  readonly unsettled: readonly { readonly lsn: number; readonly error?: string }[];
  readonly rows: readonly TodoRow[];
  readonly duplicates: number;
}

const MAX_LISTED = 8;
const list = (items: readonly unknown[]): string =>
  items.length <= MAX_LISTED
    ? items.map(String).join(', ')
    : `${items.slice(0, MAX_LISTED).map(String).join(', ')} … (${items.length} in all)`;

/**
 * The end-state invariants of one client: the same timeline across restarts, no lsn given twice, every
 * resolved mutation decided, each confirmed create present exactly once in the authority's rows, each
 * toggle's effect counted once. `authority` is the coordinator's rows (read through a fresh replica).
 */
export function checkClient(
  ledger: ClientLedger,
  final: FinalState,
  authority: ReadonlyMap<string, number>,
): string[] {
  const problems: string[] = [];
  const who = `client ${ledger.client}`;
  // An incarnation killed while opening has no timeline (a hole in the array, skipped by filter).
  const timelines = new Set(ledger.timelines.filter((timeline) => timeline !== undefined));
  if (timelines.size !== 1) {
    problems.push(
      `${who} changed timeline across restarts (${[...timelines].join(' → ')}): its pushes are not deduplicated`,
    );
  }
  problems.push(...ledger.failures.map((failure) => `${who}: ${failure}`));

  const byLsn = new Map<number, Resolved>();
  const reused: string[] = [];
  for (const resolved of ledger.resolved) {
    const earlier = byLsn.get(resolved.lsn);
    if (earlier !== undefined) reused.push(`lsn ${resolved.lsn} (${earlier.id}, then ${resolved.id})`);
    byLsn.set(resolved.lsn, resolved);
  }
  if (reused.length > 0) problems.push(`${who} gave one lsn to two resolved mutations: ${list(reused)}`);

  if (final.unsettled.length > 0) {
    const shown = final.unsettled.map((u) => (u.error === undefined ? `${u.lsn}` : `${u.lsn} (${u.error})`));
    problems.push(
      `${who}: the fate of ${final.unsettled.length} resolved mutations never settled: lsns ${list(shown)}`,
    );
  }
  if (final.duplicates !== 0) problems.push(`${who}'s todos hold ${final.duplicates} duplicate ids`);

  const fates = new Map(final.fates.map((fate) => [fate.lsn, fate]));
  const changed: string[] = [];
  for (const [lsn, live] of ledger.liveFates) {
    const last = fates.get(lsn);
    if (last !== undefined && last.status !== live.status)
      changed.push(`lsn ${lsn}: ${live.status} → ${last.status}`);
  }
  if (changed.length > 0) problems.push(`${who}: fates changed after being reported: ${list(changed)}`);

  const missing: string[] = [];
  const rejected: string[] = [];
  const toggles = new Map<string, number>();
  const undecided = new Set<string>();
  for (const { id, kind, lsn } of ledger.resolved) {
    const fate = fates.get(lsn) ?? ledger.liveFates.get(lsn);
    if (fate === undefined) {
      undecided.add(id);
      continue;
    }
    // Ids are unique to one create, and toggles only touch the client's own confirmed todos: the
    // reducer has no reason to reject either, except a second apply ("already exists").
    if (fate.status === 'rejected') rejected.push(`${kind} ${id} (lsn ${lsn}): ${fate.reason ?? ''}`);
    else if (kind === 'create' && !authority.has(id)) missing.push(`${id} (lsn ${lsn})`);
    else if (kind === 'toggle') toggles.set(id, (toggles.get(id) ?? 0) + 1);
  }
  if (missing.length > 0) {
    problems.push(
      `${who}: ${missing.length} confirmed creates are not in the coordinator's pages: ${list(missing)}`,
    );
  }
  if (rejected.length > 0) problems.push(`${who}: ${rejected.length} mutations rejected: ${list(rejected)}`);

  const flipped: string[] = [];
  for (const [id, attempts] of ledger.attempts) {
    const confirmed = toggles.get(id) ?? 0;
    const resolvedToggles = ledger.resolved.filter((r) => r.id === id && r.kind === 'toggle').length;
    // A toggle attempted by a process killed before its mutate resolved may or may not have been kept.
    if (attempts.toggle !== resolvedToggles || undecided.has(id) || !authority.has(id)) continue;
    if (authority.get(id) !== confirmed % 2) {
      flipped.push(`${id}: ${confirmed} toggles confirmed, completed = ${authority.get(id)}`);
    }
  }
  if (flipped.length > 0)
    problems.push(`${who}: toggles applied a different number of times: ${list(flipped)}`);
  return problems;
}

/** Rows no client ever attempted to create, and clients whose rows differ from the coordinator's. */
export function checkRows(
  ledgers: readonly ClientLedger[],
  finals: readonly FinalState[],
  authority: ReadonlyMap<string, number>,
  probes: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  const attempted = new Set<string>(probes);
  for (const ledger of ledgers) for (const id of ledger.attempts.keys()) attempted.add(id);
  const strangers = [...authority.keys()].filter((id) => !attempted.has(id));
  if (strangers.length > 0) problems.push(`the coordinator holds todos no one created: ${list(strangers)}`);
  for (const [i, final] of finals.entries()) {
    const theirs = new Map(final.rows.map((row) => [row.id, Number(row.completed)]));
    const differ = [...new Set([...theirs.keys(), ...authority.keys()])].filter(
      (id) => theirs.get(id) !== authority.get(id),
    );
    if (differ.length > 0) {
      problems.push(
        `client ${i}'s todos differ from the coordinator's (${theirs.size} vs ${authority.size} rows): ${list(differ)}`,
      );
    }
  }
  return problems;
}
