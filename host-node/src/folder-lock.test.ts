// One writer per document folder: a second open is refused with `document-locked` wherever it comes
// from, and a holder that died (SIGKILL) leaves nothing that blocks the next open.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { documentFolder, openDocument } from './document.js';
import { TODO_REDUCER } from './testing/paths.js';

const CHILD = fileURLToPath(new URL('../dist/testing/open-folder.js', import.meta.url));
const DOCUMENT_MODULE = new URL('../dist/document.js', import.meta.url).href;
const LOCK = 'LOCK';
let scratch: string;
let folders = 0;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-folder-lock-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const freshDataDir = () => join(scratch, `data-${++folders}`);

interface Opener {
  readonly child: ChildProcess;
  /** The child's first line: `opened <pid>` or `refused <kind> <holder pid>`. */
  readonly said: Promise<string>;
  readonly exited: Promise<void>;
}

function openInChild(dataDir: string, docId: string): Opener {
  const child = spawn(process.execPath, [CHILD, dataDir, docId, TODO_REDUCER], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const said = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const end = out.indexOf('\n');
      if (end >= 0) resolve(out.slice(0, end));
    });
    void exited.then(() => reject(new Error(`the child exited without a word: ${stderr}`)));
  });
  return { child, said, exited };
}

/** Opens the document in a worker thread of this process; says `opened` or `refused <kind> <pid>`. */
async function openInThread(dataDir: string, docId: string): Promise<string> {
  const code = `
    const { parentPort, workerData: w } = require('node:worker_threads');
    import(w.module).then(({ openDocument }) => openDocument({ docId: w.docId, reducer: w.reducer, dataDir: w.dataDir }))
      .then((doc) => doc.close().then(() => parentPort.postMessage('opened')))
      .catch((error) => parentPort.postMessage(
        error.kind === undefined ? String(error.stack) : \`refused \${error.kind} \${error.fields.holderPid}\`,
      ));
  `;
  const worker = new Worker(code, {
    eval: true,
    execArgv: [],
    workerData: { module: DOCUMENT_MODULE, docId, reducer: TODO_REDUCER, dataDir },
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

async function kill(opener: Opener): Promise<void> {
  opener.child.kill('SIGKILL');
  await opener.exited;
}

test('a second open of a document folder is refused with document-locked, in the same process and from another process', async () => {
  const dataDir = freshDataDir();
  const first = await openDocument({ docId: 'doc', reducer: TODO_REDUCER, dataDir });
  try {
    await expect(openDocument({ docId: 'doc', reducer: TODO_REDUCER, dataDir })).rejects.toMatchObject({
      kind: 'document-locked',
      fields: { holderPid: process.pid },
    });
    // The refusal left the holder's lock alone: the refused open did not release it on its way out.
    await expect(openDocument({ docId: 'doc', reducer: TODO_REDUCER, dataDir })).rejects.toMatchObject({
      kind: 'document-locked',
    });
    // Another thread of this process has its own module state: the lock file refuses it.
    expect(await openInThread(dataDir, 'doc')).toBe(`refused document-locked ${process.pid}`);
    const other = openInChild(dataDir, 'doc');
    expect(await other.said).toBe(`refused document-locked ${process.pid}`);
    await other.exited;
    // The refused opens changed nothing: the holder still writes and reads as before.
    await first.mutate({ type: 'create', id: 'a', title: 'kept' });
  } finally {
    await first.close();
  }
  // Closing releases the folder: a child opens it, and then this process is the one refused.
  const child = openInChild(dataDir, 'doc');
  try {
    expect(await child.said).toBe(`opened ${child.child.pid}`);
    await expect(openDocument({ docId: 'doc', reducer: TODO_REDUCER, dataDir })).rejects.toMatchObject({
      kind: 'document-locked',
      fields: { holderPid: child.child.pid },
    });
  } finally {
    await kill(child);
  }
  // Another document of the same data folder is not affected.
  const neighbour = await openDocument({ docId: 'other', reducer: TODO_REDUCER, dataDir });
  await neighbour.close();
}, 120_000);

test('a folder whose holder was SIGKILLed opens at once', async () => {
  const dataDir = freshDataDir();
  const holder = openInChild(dataDir, 'doc');
  expect((await holder.said).startsWith('opened ')).toBe(true);
  await kill(holder);
  // The dead holder's lock is still there, naming it: it is taken over, not waited out.
  const lock = join(documentFolder(dataDir, 'doc'), LOCK);
  expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject({ pid: holder.child.pid });
  // Likewise a lock left by an earlier process that had this very pid (a container restarted on the
  // same volume often gets the same one: the start time tells them apart), and a damaged lock.
  const leftovers = [
    undefined,
    JSON.stringify({ pid: process.pid, start: 'an earlier start', boot: 'an earlier boot', token: 'x' }),
    '',
    '{"pid":',
    '\0\0\0\0',
  ];
  for (const leftover of leftovers) {
    if (leftover !== undefined) await writeFile(lock, leftover);
    const started = performance.now();
    const reopened = await openDocument({ docId: 'doc', reducer: TODO_REDUCER, dataDir });
    try {
      expect(performance.now() - started).toBeLessThan(10_000);
      // Taken over for good: the lock now names this process and refuses others.
      await expect(openDocument({ docId: 'doc', reducer: TODO_REDUCER, dataDir })).rejects.toMatchObject({
        kind: 'document-locked',
        fields: { holderPid: process.pid },
      });
    } finally {
      await reopened.close();
    }
  }
}, 120_000);

test("of several processes opening one folder at once over a dead holder's lock, exactly one opens", async () => {
  const dataDir = freshDataDir();
  const dead = openInChild(dataDir, 'doc');
  expect((await dead.said).startsWith('opened ')).toBe(true);
  await kill(dead);
  const racers = [0, 1, 2, 3].map(() => openInChild(dataDir, 'doc'));
  try {
    const said = await Promise.all(racers.map((racer) => racer.said));
    const opened = said.filter((line) => line.startsWith('opened '));
    expect(opened, said.join('; ')).toHaveLength(1);
    const winner = Number(opened[0]?.slice('opened '.length));
    for (const line of said) if (line !== opened[0]) expect(line).toBe(`refused document-locked ${winner}`);
  } finally {
    await Promise.all(racers.map(kill));
  }
}, 180_000);
