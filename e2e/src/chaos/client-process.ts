// A chaos test client, as a child process it can SIGKILL (forked with an IPC channel):
//   node client-process.js <reducer.wasm> <dataDir> <docId> <coordinatorUrl> <client> <incarnation> <seed>
// It opens the persisted document (a restart continues the same timeline), writes mutations in a
// seeded loop until told to stop, and reports each one: before `mutate` (`attempt`), when `mutate`
// resolves (its lsn), and when the coordinator decides it (`fate`).
import { openDocument } from '@tandem/host-node';
import { SeededRandom } from '@tandem/runtime';
import {
  type ClientReport,
  type ClientRequest,
  describeError,
  type Fate,
  type MutationKind,
  type TodoRow,
} from './messages.js';

const [reducer, dataDir, docId, coordinatorUrl, clientText, incarnationText, seedText] =
  process.argv.slice(2);
if (
  reducer === undefined ||
  dataDir === undefined ||
  docId === undefined ||
  coordinatorUrl === undefined ||
  clientText === undefined ||
  incarnationText === undefined ||
  seedText === undefined ||
  process.send === undefined
) {
  throw new Error(
    'usage (forked with IPC): client-process <reducer.wasm> <dataDir> <docId> <coordinatorUrl> <client> <incarnation> <seed>',
  );
}
const report = (message: ClientReport): void => {
  process.send?.(message);
};
process.on('uncaughtException', (error) => {
  report({ type: 'crashed', error: describeError(error) });
  process.exit(1);
});
process.on('unhandledRejection', (error) => {
  report({ type: 'crashed', error: describeError(error) });
  process.exit(1);
});
// The test owns this process: without it, there is no one to report to.
process.on('disconnect', () => process.exit(0));

const client = Number(clientText);
const incarnation = Number(incarnationText);
const random = new SeededRandom(BigInt(seedText) * 1_000_003n + BigInt(client * 1000 + incarnation));
const pick = (n: number): number => Number(random.nextU64() % BigInt(n));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with `promise`'s value, or with `undefined` once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function toFate(
  fate: { lsn: number; status: 'confirmed' } | { lsn: number; status: 'rejected'; reason: string },
): Fate {
  return fate.status === 'rejected' ? { lsn: fate.lsn, status: 'rejected', reason: fate.reason } : fate;
}

// A coordinator restart can take many seconds on a loaded machine: with the default 30 s cap on the
// reconnect backoff, a client would still be waiting long after the chaos ends.
const doc = await openDocument({
  docId,
  reducer,
  dataDir,
  coordinatorUrl,
  sync: { backoffMs: 25, maxBackoffMs: 1000, heartbeatMs: 500 },
});
report({ type: 'opened', timelineId: doc.timelineId, replayed: doc.replayed, pending: doc.pendingCount });

/** Todos this incarnation created (their `mutate` resolved): the only ones it toggles. */
const created: string[] = [];
let writing = true;
let sequence = 0;

function mutateOne(): Promise<void> {
  const toggle = created.length > 0 && pick(4) === 0;
  const kind: MutationKind = toggle ? 'toggle' : 'create';
  const id = toggle ? created[pick(created.length)]! : `c${client}-i${incarnation}-${sequence++}`;
  report({ type: 'attempt', id, kind });
  return doc.mutate(toggle ? { type: 'toggle', id } : { type: 'create', id, title: `todo ${id}` }).then(
    (result) => {
      report({
        type: 'resolved',
        id,
        kind,
        lsn: result.lsn,
        status: result.status,
        ...(result.status === 'rejected' && { reason: result.reason }),
      });
      if (kind === 'create' && result.status === 'applied') created.push(id);
      doc.fate(result.lsn).then(
        (fate) => report({ type: 'fate', fate: toFate(fate) }),
        (error: unknown) => report({ type: 'fate-failed', lsn: result.lsn, error: describeError(error) }),
      );
    },
    (error: unknown) => report({ type: 'mutate-failed', id, error: describeError(error) }),
  );
}

// A few mutations at once (one batch, as an app firing them without awaiting), then a pause.
const loop = (async () => {
  while (writing) {
    const burst = 1 + pick(3);
    await Promise.all(Array.from({ length: burst }, mutateOne));
    await sleep(15 + pick(45));
  }
})();

process.on('message', (request: ClientRequest) => {
  void handle(request).catch((error: unknown) => {
    report({ type: 'crashed', error: `while handling ${request.type}: ${describeError(error)}` });
    process.exit(1);
  });
});

async function handle(request: ClientRequest): Promise<void> {
  switch (request.type) {
    case 'stop':
      writing = false;
      await loop;
      report({ type: 'stopped' });
      return;
    case 'status':
      report({
        type: 'status',
        syncState: doc.syncState,
        pendingCount: doc.pendingCount,
        syncError: doc.syncError === undefined ? null : describeError(doc.syncError),
        pageHash: request.pageHash ? await doc.pageHash() : null,
      });
      return;
    case 'probe': {
      try {
        const { lsn } = await doc.mutate({ type: 'create', id: request.id, title: 'probe' });
        const fate = await within(doc.fate(lsn), request.timeoutMs);
        report({ type: 'probe', fate: fate === undefined ? null : toFate(fate) });
      } catch (error) {
        report({ type: 'probe', fate: null, error: describeError(error) });
      }
      return;
    }
    case 'final': {
      const settled = await Promise.all(
        request.lsns.map((lsn) =>
          within(doc.fate(lsn), request.timeoutMs).then(
            (fate) => ({ lsn, fate, error: undefined }),
            (error: unknown) => ({ lsn, fate: undefined, error: describeError(error) }),
          ),
        ),
      );
      const rows = (await doc.query('SELECT id, completed FROM todos ORDER BY id')) as unknown as TodoRow[];
      const [count] = await doc.query('SELECT COUNT(*) - COUNT(DISTINCT id) AS duplicates FROM todos');
      report({
        type: 'final',
        fates: settled.flatMap(({ fate }) => (fate === undefined ? [] : [toFate(fate)])),
        unsettled: settled.flatMap(({ lsn, fate, error }) =>
          fate !== undefined ? [] : [{ lsn, ...(error !== undefined && { error }) }],
        ),
        rows,
        duplicates: Number(count?.duplicates ?? -1),
      });
      return;
    }
  }
}
