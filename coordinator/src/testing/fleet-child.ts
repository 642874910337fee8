// A child process holding a few Node clients (host-node documents) of the multi-coordinator tests,
// each given the coordinators' URLs in its own order (runtime sync/coordinator-list.ts). Spoken to over
// IPC (fleet.ts): it writes todos until told to stop, records which mutations were reported confirmed
// (`progress`: the fewest on any document) and when each document was welcomed (`welcomes`),
// then reports each document's pages once synced and caught up; an audit opens documents afresh (a
// client with no files) and reports the todo ids their pages hold.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalDocument, openDocument } from '@tandem/host-node';

export interface FleetClient {
  readonly name: string;
  readonly urls: readonly string[];
  readonly docIds: readonly string[];
}

export type FleetRequest =
  | {
      readonly type: 'start';
      readonly reducer: string;
      readonly clients: readonly FleetClient[];
      readonly writeEveryMs: number;
    }
  | { readonly type: 'stop' }
  | { readonly type: 'settle' }
  /** When each client's document was first welcomed at or after `since` (Date.now() ms). */
  | { readonly type: 'welcomes'; readonly since: number }
  /** The fewest mutations confirmed so far on any client's document. */
  | { readonly type: 'progress' }
  | { readonly type: 'audit'; readonly urls: readonly string[]; readonly docIds: readonly string[] };

export interface DocumentReport {
  readonly client: string;
  readonly docId: string;
  readonly hash: string;
  /** Todo ids whose mutation this client was told `confirmed`. */
  readonly confirmed: readonly string[];
}

export type FleetReport =
  | { readonly type: 'started' }
  | { readonly type: 'stopped'; readonly problems: readonly string[] }
  | { readonly type: 'settled'; readonly documents: readonly DocumentReport[] }
  | { readonly type: 'progress'; readonly leastConfirmed: number }
  | {
      readonly type: 'welcomes';
      readonly documents: readonly {
        readonly client: string;
        readonly docId: string;
        readonly at: number | null;
      }[];
    }
  | {
      readonly type: 'audited';
      readonly documents: readonly {
        readonly docId: string;
        readonly hash: string;
        readonly ids: readonly string[];
      }[];
    };

interface Open {
  readonly client: string;
  readonly docId: string;
  readonly document: LocalDocument;
  readonly confirmed: string[];
  readonly fates: Promise<void>[];
  /** When a coordinator welcomed it (Date.now() ms). */
  readonly welcomes: number[];
}

const WELCOMED = new Set(['catching-up', 'live', 'waiting-for-reducer']);

const SYNC = { backoffMs: 50, maxBackoffMs: 500, heartbeatMs: 2000 };
const send = (report: FleetReport): void => {
  process.send?.(report);
};
let root = '';
let reducer = '';
const open: Open[] = [];
const problems: string[] = [];
let writing: NodeJS.Timeout | undefined;

async function start(request: Extract<FleetRequest, { type: 'start' }>): Promise<void> {
  root = await mkdtemp(join(tmpdir(), 'tandem-fleet-'));
  reducer = request.reducer;
  const opening = request.clients.flatMap((client) =>
    client.docIds.map(async (docId) => {
      const welcomes: number[] = [];
      let welcomed = false;
      const document = await openDocument({
        docId,
        reducer,
        dataDir: join(root, client.name),
        coordinatorUrl: client.urls,
        sync: {
          ...SYNC,
          onStateChange: (state) => {
            const now = WELCOMED.has(state);
            if (now && !welcomed) welcomes.push(Date.now());
            welcomed = now;
          },
        },
      });
      open.push({ client: client.name, docId, document, confirmed: [], fates: [], welcomes });
    }),
  );
  await Promise.all(opening);
  let count = 0;
  writing = setInterval(() => {
    for (const one of open) {
      const id = `${one.client}-${one.docId}-${count}`;
      const written = one.document.mutate({ type: 'create', id, title: id });
      one.fates.push(
        written
          .then((result) => one.document.fate(result.lsn))
          .then((fate) => {
            if (fate.status === 'confirmed') one.confirmed.push(id);
            else problems.push(`${id} ${fate.status}: ${'reason' in fate ? fate.reason : ''}`);
          })
          .catch((error: unknown) => {
            problems.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
          }),
      );
    }
    count++;
  }, request.writeEveryMs);
  send({ type: 'started' });
}

async function stop(): Promise<void> {
  clearInterval(writing);
  await Promise.all(open.map((one) => one.document.synced()));
  await Promise.all(open.flatMap((one) => one.fates));
  send({ type: 'stopped', problems });
}

async function settle(): Promise<void> {
  const documents: DocumentReport[] = [];
  for (const one of open) {
    await one.document.caughtUp();
    documents.push({
      client: one.client,
      docId: one.docId,
      hash: await one.document.pageHash(),
      confirmed: one.confirmed,
    });
  }
  send({ type: 'settled', documents });
}

function progress(): void {
  send({ type: 'progress', leastConfirmed: Math.min(...open.map((one) => one.confirmed.length)) });
}

function welcomes(since: number): void {
  send({
    type: 'welcomes',
    documents: open.map((one) => ({
      client: one.client,
      docId: one.docId,
      at: one.welcomes.find((at) => at >= since) ?? null,
    })),
  });
}

async function audit(request: Extract<FleetRequest, { type: 'audit' }>): Promise<void> {
  const documents = [];
  for (const docId of request.docIds) {
    const document = await openDocument({
      docId,
      reducer,
      dataDir: join(root, `audit-${Date.now()}`),
      coordinatorUrl: request.urls,
      sync: SYNC,
    });
    await document.caughtUp();
    const rows = await document.query('SELECT id FROM todos ORDER BY id');
    documents.push({ docId, hash: await document.pageHash(), ids: rows.map((row) => String(row.id)) });
    await document.close();
  }
  send({ type: 'audited', documents });
}

process.on('message', (message: FleetRequest) => {
  const run =
    message.type === 'start'
      ? start(message)
      : message.type === 'stop'
        ? stop()
        : message.type === 'settle'
          ? settle()
          : message.type === 'welcomes'
            ? Promise.resolve(welcomes(message.since))
            : message.type === 'progress'
              ? Promise.resolve(progress())
              : audit(message);
  run.catch((error: unknown) => {
    process.stderr.write(`fleet child: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
});
process.on('disconnect', () => {
  clearInterval(writing);
  void Promise.all(open.map((one) => one.document.close().catch(() => undefined)))
    .then(() => rm(root, { recursive: true, force: true }))
    .finally(() => process.exit(0));
});
