// The client half of the corruption sweep (runtime/README.md, "Corruption sweep"): a host-node client
// with confirmed and pending mutations, one of its files damaged (a flipped byte, cut short, deleted),
// then reopened against a real coordinator. Every outcome must be one of: everything acknowledged is in
// the coordinator's pages exactly once, or the client refuses loudly (a TandemError at open, or sync
// failed with its error). A second apply, a silent loss or a hang fails the test. A file that holds
// only copies (of the timeline id and secret, or of the coordinator's frames) must be survived whole:
// refusing there would be a loss of service the other copies make needless.
import { mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { documentFolder, type LocalDocument, openDocument } from '@tandem/host-node';
import { TandemError } from '@tandem/runtime';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const FAST = { backoffMs: 20, heartbeatMs: 1000 };
const SETTLE_MS = 20_000;

/**
 * A client file kind: how to find it in the document's folder, and whether other files hold all it
 * holds (then any one damage of it must end intact).
 */
const KINDS: readonly { readonly kind: string; readonly match: RegExp; readonly copies: boolean }[] = [
  { kind: 'identity', match: /^identity\./, copies: true },
  { kind: 'reach (identity at close)', match: /^reach\./, copies: true },
  { kind: 'history', match: /^history\./, copies: true },
  { kind: 'timeline', match: /^timeline\./, copies: false },
  { kind: 'base frame log', match: /^base-[0-9a-f]+\.frames\./, copies: true },
  { kind: 'checkpoint image', match: /^base-[0-9a-f]+\.pages\./, copies: true },
  { kind: 'timeline secret', match: /^secret\./, copies: true },
];

type Damage =
  | { readonly how: 'flip'; readonly at: (length: number) => number }
  | { readonly how: 'cut'; readonly at: (length: number) => number }
  | { readonly how: 'delete' };

const DAMAGES: readonly { readonly name: string; readonly damage: Damage }[] = [
  { name: 'flip byte 0', damage: { how: 'flip', at: () => 0 } },
  { name: 'flip byte 13', damage: { how: 'flip', at: () => 13 } },
  { name: 'flip middle byte', damage: { how: 'flip', at: (n) => Math.floor(n / 2) } },
  { name: 'flip last byte', damage: { how: 'flip', at: (n) => n - 1 } },
  { name: 'cut to 0', damage: { how: 'cut', at: () => 0 } },
  { name: 'cut to half', damage: { how: 'cut', at: (n) => Math.floor(n / 2) } },
  { name: 'cut last byte', damage: { how: 'cut', at: (n) => n - 1 } },
  { name: 'delete', damage: { how: 'delete' } },
];

type Outcome = 'intact' | 'refused at open' | 'sync failed' | 'double apply' | 'silent loss' | 'hang';

let scratch: string;
let coordinator: Coordinator;
let url: string;
let docs = 0;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-client-sweep-'));
  coordinator = await startCoordinator({
    reducer: await readFile(TODO),
    dataDir: join(scratch, 'c'),
    port: 0,
  });
  url = `${coordinator.url.replace('http', 'ws')}/sync`;
});
afterAll(async () => {
  await coordinator?.close();
  await rm(scratch, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;
/** Confirmed before the damage: flag + 3 todos, flag toggled. Pending (made offline): 3 todos, a toggle. */
const MUTATIONS = 9;
const TODOS = ['flag', 'a0', 'a1', 'a2', 'b0', 'b1', 'b2'];

async function prepare(docId: string, dataDir: string): Promise<void> {
  const online = await openDocument({ docId, reducer: TODO, dataDir, coordinatorUrl: url, sync: FAST });
  await online.mutate({ type: 'create', id: 'flag', title: 'flag' }, { timestamp: T0 });
  for (let i = 0; i < 3; i++)
    await online.mutate({ type: 'create', id: `a${i}`, title: 'a' }, { timestamp: T0 });
  await online.mutate({ type: 'toggle', id: 'flag' }, { timestamp: T0 });
  await online.synced();
  await online.close();
  const offline = await openDocument({ docId, reducer: TODO, dataDir });
  for (let i = 0; i < 3; i++)
    await offline.mutate({ type: 'create', id: `b${i}`, title: 'b' }, { timestamp: T0 });
  await offline.mutate({ type: 'toggle', id: 'flag' }, { timestamp: T0 });
  await offline.close();
}

async function damage(folder: string, match: RegExp, what: Damage): Promise<boolean> {
  // The newest file of the kind (names sort by lsn, then generation): the timeline's holds the pending
  // mutations.
  const file = (await readdir(folder))
    .filter((f) => match.test(f))
    .sort()
    .at(-1);
  if (file === undefined) return false;
  const path = join(folder, file);
  if (what.how === 'delete') {
    await unlink(path);
    return true;
  }
  const bytes = await readFile(path);
  if (bytes.length === 0) return false;
  if (what.how === 'cut') {
    await truncate(path, what.at(bytes.length));
  } else {
    const at = what.at(bytes.length);
    bytes[at] = bytes[at]! ^ 0x5a;
    await writeFile(path, bytes);
  }
  return true;
}

/** Waits until the document is synced with the coordinator's pages, or its sync failed. */
async function settle(doc: LocalDocument, docId: string): Promise<'synced' | 'failed' | 'hang'> {
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline) {
    if (doc.syncState === 'failed') return 'failed';
    if (
      doc.syncState === 'live' &&
      doc.pendingCount === 0 &&
      (await doc.pageHash()) === (await coordinator.pageHash(docId))
    ) {
      return 'synced';
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return 'hang';
}

async function verdict(doc: LocalDocument): Promise<Outcome> {
  const todos = await doc.query('SELECT id, completed FROM todos ORDER BY id');
  const markers = await doc.query('SELECT timeline_id, applied_lsn FROM _tandem_applied');
  const applies = markers.reduce((n, m) => n + Number(m.applied_lsn) + 1, 0);
  // Each timeline's marker counts the mutations the coordinator took from it: a second timeline, or
  // more than were made, is a second apply; fewer (or a toggle of the flag missing) is a loss.
  if (applies > MUTATIONS || markers.length > 1) return 'double apply';
  const ids = todos.map((t) => String(t.id)).sort();
  const flag = todos.find((t) => t.id === 'flag');
  const whole = applies === MUTATIONS && flag?.completed === 0;
  return whole && JSON.stringify(ids) === JSON.stringify([...TODOS].sort()) ? 'intact' : 'silent loss';
}

test('a client reopened over any one damaged file holds every acknowledged mutation exactly once, or refuses loudly', async () => {
  const table = new Map<string, Map<Outcome, number>>();
  const bad: string[] = [];
  const notServed: string[] = [];
  for (const { kind, match, copies } of KINDS) {
    for (const { name, damage: what } of DAMAGES) {
      const docId = `sweep-${++docs}`;
      const dataDir = join(scratch, `client-${docs}`);
      await prepare(docId, dataDir);
      if (!(await damage(documentFolder(dataDir, docId), match, what))) continue;
      let outcome: Outcome;
      let detail = '';
      let doc: LocalDocument | undefined;
      try {
        doc = await openDocument({ docId, reducer: TODO, dataDir, coordinatorUrl: url, sync: FAST });
      } catch (error) {
        if (!(error instanceof TandemError)) throw error;
        detail = `${error.kind}: ${error.message}`;
      }
      if (doc === undefined) {
        outcome = 'refused at open';
      } else {
        const settled = await settle(doc, docId);
        outcome = settled === 'synced' ? await verdict(doc) : settled === 'failed' ? 'sync failed' : 'hang';
        detail = doc.syncError?.message ?? '';
        await doc.close();
      }
      const row = table.get(kind) ?? new Map<Outcome, number>();
      row.set(outcome, (row.get(outcome) ?? 0) + 1);
      table.set(kind, row);
      if (outcome === 'double apply' || outcome === 'silent loss' || outcome === 'hang') {
        bad.push(`${kind}, ${name}: ${outcome}`);
      }
      if (copies && outcome !== 'intact') notServed.push(`${kind}, ${name}: ${outcome} ${detail}`);
      console.log(`${kind} | ${name} | ${outcome} ${detail}`);
    }
  }
  for (const [kind, row] of table)
    console.log(`| client | ${kind} | ${[...row].map(([o, n]) => `${o} ${n}`).join(', ')} |`);
  expect(bad).toEqual([]);
  expect(notServed).toEqual([]);
}, 900_000);
