// The coordinator's half of the corruption sweep (runtime/README.md, "Corruption sweep"): a document
// the coordinator acknowledged 300 todos of is damaged one way at a time (a byte flipped, the file cut,
// the file deleted) in each kind of file it keeps, then reopened as a restarted coordinator's worker
// opens it. Each case must end in one of two outcomes: everything acknowledged is served (same pages,
// same history), or the document is refused with a `storage-corrupt` error that names the file and
// leaves every file as it was. Never a shorter or another history.
import { cp, mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsByteStore } from '@tandem/host-node';
import { type MutationEnvelope, TandemError } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { afterAll, expect, test } from 'vitest';
import { AuthorityDocument } from './authority/authority-document.js';

const reducer = await loadReducer(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
const TODOS = 300;
// One frame per segment (a frame is a few hundred bytes in its wire form): a segment ends exactly at each
// checkpoint, so one is kept folded in, and there are segments before, amid and at the end of the rest.
const OPTIONS = { docId: 'swept', reducer, checkpointEvery: 128, segmentBytes: 1 } as const;
const root = await mkdtemp(join(tmpdir(), 'tandem-sweep-'));
afterAll(() => rm(root, { recursive: true, force: true }));

function todo(lsn: number): MutationEnvelope {
  const body = { type: 'create', id: `t${lsn}`, title: `todo ${lsn} ${'x'.repeat(lsn % 150)}` };
  return {
    timelineId: 'sweeper',
    lsn,
    timestamp: 1_700_000_000_000 + lsn,
    payload: new TextEncoder().encode(JSON.stringify(body)),
  };
}

/** A document that acknowledged TODOS todos, one push (one frame) each, then was closed. */
async function acknowledged(dir: string): Promise<{ hash: string; journalId: string; head: number }> {
  const files = await FsByteStore.open(dir);
  const document = await AuthorityDocument.open({ ...OPTIONS, storage: files });
  for (let lsn = 0; lsn < TODOS; lsn++) {
    await document.push([{ timelineId: 'sweeper', mutations: [todo(lsn)] }]);
  }
  const served = {
    hash: await document.pageHash(),
    journalId: document.journalId,
    head: document.nextFrameLsn,
  };
  await document.close();
  await files.close();
  return served;
}

type Outcome = 'served' | 'refused';

/** The kind part of a journal file name (`<kind>.<lsn>.<generation>.<ext>`). */
function kindPart(name: string): string {
  return name.split('.')[0] ?? name;
}

async function snapshotFiles(dir: string): Promise<Map<string, string>> {
  const bytes = new Map<string, string>();
  for (const name of await readdir(dir))
    bytes.set(name, Buffer.from(await readFile(join(dir, name))).toString('hex'));
  return bytes;
}

/** Reopens `dir` as a restarted coordinator would; throws unless the outcome is one of the two allowed. */
async function reopen(
  dir: string,
  expected: Awaited<ReturnType<typeof acknowledged>>,
  label: string,
): Promise<Outcome> {
  const before = await snapshotFiles(dir);
  const files = await FsByteStore.open(dir);
  try {
    const document = await AuthorityDocument.open({ ...OPTIONS, storage: files });
    try {
      expect(document.nextFrameLsn, `${label}: every acknowledged frame`).toBe(expected.head);
      expect(document.journalId, `${label}: the same history`).toBe(expected.journalId);
      expect(await document.pageHash(), `${label}: the same pages`).toBe(expected.hash);
      expect(document.query('SELECT count(*) AS n FROM todos')[0]?.n, label).toBe(TODOS);
      return 'served';
    } finally {
      await document.close();
    }
  } catch (error) {
    if (!(error instanceof TandemError && error.kind === 'storage-corrupt')) throw error;
    expect(error.fields.framesExpected, label).toBe(expected.head);
    expect(error.fields.framesReadable, label).toBeLessThan(expected.head);
    expect(error.fields.file, label).toMatch(/^(frames|pages)\./);
    expect(error.message, label).toContain(String(error.fields.file));
    await files.close();
    expect(await snapshotFiles(dir), `${label}: a refusal changes no file`).toEqual(before);
    return 'refused';
  } finally {
    await files.close();
  }
}

type Damage = { readonly how: string; readonly apply: (path: string, length: number) => Promise<void> };

function damages(length: number): Damage[] {
  const flips = [0, 5, 9, Math.floor(length / 2), length - 5, length - 1];
  const cuts = [0, 9, Math.floor(length / 2), length - 1];
  return [
    ...[...new Set(flips)]
      .filter((at) => at >= 0 && at < length)
      .map((at) => ({
        how: `flip byte ${at}`,
        apply: async (path: string) => {
          const bytes = await readFile(path);
          bytes[at] = bytes[at]! ^ 0x20;
          await writeFile(path, bytes);
        },
      })),
    ...[...new Set(cuts)]
      .filter((at) => at < length)
      .map((at) => ({
        how: `truncate to ${at}`,
        apply: (path: string) => truncate(path, at),
      })),
    { how: 'delete', apply: (path: string) => unlink(path) },
  ];
}

/** The kind of a coordinator file, as the README's table names it. */
function kindOf(name: string, segments: Segments): string {
  const kind = kindPart(name);
  if (kind === 'frames') {
    if (name === segments.folded) return 'frame log (a segment the checkpoint folded in)';
    if (name === segments.live[0]) return 'frame log (first segment after the checkpoint)';
    return name === segments.live.at(-1) ? 'frame log (last segment)' : 'frame log (middle segment)';
  }
  return { identity: 'identity (journalId)', pages: 'checkpoint image', marks: 'sync marks' }[kind] ?? name;
}

interface Segments {
  /** A segment whose frames all lie before the checkpoint (kept until the next one), if any. */
  readonly folded: string | undefined;
  /** Segments holding frames after the checkpoint, in lsn order. */
  readonly live: readonly string[];
}

function segmentsOf(names: readonly string[]): Segments {
  const lsn = (name: string): number => Number(name.split('.')[1]);
  const image = Math.max(...names.filter((n) => kindPart(n) === 'pages').map(lsn));
  const frames = names.filter((n) => kindPart(n) === 'frames').sort((a, b) => lsn(a) - lsn(b));
  const folded = frames.filter((n, i) => lsn(frames[i + 1] ?? n) <= image && i + 1 < frames.length);
  return { folded: folded.at(-1), live: frames.filter((n) => !folded.includes(n)) };
}

test('a damaged, truncated or deleted coordinator file is either served whole or refused loudly, never served as a shorter history', async () => {
  const baseline = join(root, 'baseline');
  const expected = await acknowledged(baseline);
  const names = (await readdir(baseline)).sort();
  const segments = segmentsOf(names);
  expect(segments.live.length, 'several frame log segments').toBeGreaterThanOrEqual(3);
  expect(segments.folded, 'a segment folded into the checkpoint').toBeDefined();
  const middle = segments.live[Math.floor(segments.live.length / 2)];
  const picked = names.filter((n) => {
    if (kindPart(n) !== 'frames') return true;
    return n === segments.folded || n === segments.live[0] || n === middle || n === segments.live.at(-1);
  });

  const table = new Map<string, Record<Outcome, number>>();
  let cases = 0;
  for (const name of picked) {
    const length = (await readFile(join(baseline, name))).length;
    for (const damage of damages(length)) {
      const dir = join(root, `case-${cases++}`);
      await cp(baseline, dir, { recursive: true });
      await damage.apply(join(dir, name), length);
      const outcome = await reopen(dir, expected, `${name}: ${damage.how}`);
      const kind = kindOf(name, segments);
      const row = table.get(kind) ?? { served: 0, refused: 0 };
      row[outcome]++;
      table.set(kind, row);
      await rm(dir, { recursive: true, force: true });
    }
  }
  const lines = [...table].map(
    ([kind, row]) =>
      `| coordinator | ${kind} | ${row.served + row.refused} | ${row.served} | ${row.refused} | 0 |`,
  );
  console.log(`corruption sweep, coordinator rows (${cases} cases):\n${lines.join('\n')}`);
  expect(cases).toBeGreaterThan(50);
}, 300_000);
