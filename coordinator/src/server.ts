// The coordinator's network front: one Node HTTP server on one port for health, the prepared reducer
// by hash, static files, and WebSocket upgrades on /sync (sync protocol v3; see sync-connection.ts).
//
// Invariants:
// 1. One DocumentHub per document with connections (or work queued): all of a document's traffic
//    goes through it, so its frames go out in lsn order (document-hub.ts).
// 2. `close()` stops accepting first, then closes every socket, lets each document's queued steps
//    finish, and closes the pool last: every frame acknowledged was synced, and no step is cut short.
// 3. Until its welcome a connection may send at most PRE_WELCOME_BYTES, counted on the raw socket as
//    they arrive (ws has one message size limit per server): past that it gets a `quota` error and is
//    dropped at once, so a socket that has not been admitted costs a bounded amount of memory.
// 4. The data folder is checked (created, written, synced) and locked before the coordinator listens
//    (persistence.ts), and unlocked only after the pool closed: one coordinator writes a data folder at
//    a time.
// 5. Every refusal, failure and close is logged (log.ts) and counted (metrics.ts).
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  DEFAULT_LIMITS,
  encodeMessage,
  PROTOCOL_VERSION,
  protocolLimits,
  TandemError,
} from '@tandem/runtime';
import { WebSocketServer } from 'ws';
import type { MigrateReport } from './admin-routes.js';
import { DocumentHub } from './document-hub.js';
import { DocumentPool } from './document-pool.js';
import { handleHttp } from './http-routes.js';
import { createLog, errorFields, type Log } from './log.js';
import { coordinatorMetrics } from './metrics.js';
import { migrateAll } from './migrate-all.js';
import { keepLeases, leaseClaims, openPersistence, type Persistence } from './persistence.js';
import { type DeployOutcome, ReducerRegistry } from './reducer-registry.js';
import { SharedReducers } from './shared-reducers.js';
import type { StoreConfig } from './store/coordinator-store.js';
import { DEFAULT_LEASE_MS } from './store/leases.js';
import { CLOSE_CODES, type ErrorKind, SyncConnection, syncUrlOf } from './sync-connection.js';

export interface CoordinatorOptions {
  /**
   * The reducer component (`tandem build` output): a path to the `.wasm` file, or its bytes. A prepared
   * reducer is taken too, if this runtime's meter version and limits made it.
   */
  readonly reducer: string | Uint8Array;
  /** Where documents persist, in files; in memory only when absent (and no `store`). */
  readonly dataDir?: string;
  /**
   * A PostgreSQL store instead of files, by URL (`postgres://user@host:port/database`): documents,
   * their frames and checkpoints, and the reducers live in its tables (coordinator/sql), created or
   * upgraded at start. Not with `dataDir`. Several coordinators may share one: each document is served
   * by one of them at a time, the holder of its lease (store/leases.ts).
   */
  readonly store?: string;
  /** With a PostgreSQL store: how long a document's lease lasts unless renewed (renewed every third of it). 10 s by default. */
  readonly leaseMs?: number;
  /**
   * With a PostgreSQL store: where clients reach this coordinator (`http://host:port`, as seen from
   * them), recorded with each lease it takes so that the others redirect its documents' clients here.
   * The listening URL by default, except on a wildcard host (0.0.0.0, ::): then none, and those clients
   * are told to retry instead.
   */
  readonly publicUrl?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** 127.0.0.1 by default. */
  readonly host?: string;
  /**
   * Grants a token a document and a timeline; asked on hello and on every push. Everything is granted
   * without it. Either way a timeline takes writes only from the client whose secret first wrote on it
   * (sync-connection.ts invariant 7): timeline ids are readable in the pages, secrets are not.
   */
  readonly authorize?: (
    docId: string,
    token: string | null,
    timelineId: string,
  ) => boolean | Promise<boolean>;
  /** Document worker threads; one per core by default. */
  readonly workers?: number;
  /** A folder served as static files (the web app). */
  readonly staticDir?: string;
  /** Frames between checkpoints; a client further behind takes a snapshot. 1000 by default. */
  readonly checkpointEvery?: number;
  /** A push growing a document past this many bytes is rejected whole (quota). Unlimited by default. */
  readonly maxDocumentBytes?: number;
  /** A connection silent this long is closed; 30 s by default. */
  readonly silenceMs?: number;
  /** Open sync connections at most; one more is refused with a `quota` error. 10,000 by default. */
  readonly maxConnections?: number;
  /**
   * Documents open in the workers at most: past it, the least recently used document without
   * connections closes. 1,000 by default. Only with `dataDir` (an in-memory document is never closed).
   */
  readonly maxOpenDocuments?: number;
  /** A document without connections this long closes (it reopens from disk). 60 s by default; only with `dataDir`. */
  readonly idleDocumentMs?: number;
  /** Where events go (log.ts); a JSON-lines logger on standard error at TANDEM_LOG_LEVEL (or info) by default. */
  readonly log?: Log;
  /**
   * The token an operator deploys reducers with (`POST /admin/reducers`, `tandem-coordinator deploy`);
   * without one the coordinator takes no deploys.
   */
  readonly operatorToken?: string;
}

export interface Coordinator {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  /** The current prepared reducer's SHA-256: its identity, and its URL `/reducers/<reducerHash>.wasm`. */
  readonly reducerHash: string;
  /** Makes `reducer` current while serving (reducer-registry.ts); what `POST /admin/reducers` runs. */
  deploy(reducer: Uint8Array): Promise<DeployOutcome>;
  /** Migrates every document of the data folder to the current reducer, one at a time (migrate-all.ts); what `POST /admin/migrate` runs. */
  migrateAll(): Promise<MigrateReport>;
  /** The document's pages as the coordinator holds them (SHA-256 of the database file). */
  pageHash(docId: string): Promise<string>;
  close(): Promise<void>;
}

const SYNC_PATH = '/sync';
/** Bytes a connection may send before its welcome: a hello and a few pings need a few KiB. */
export const PRE_WELCOME_BYTES = 64 * 1024;
/** How long a closing coordinator waits for peers to answer its close frames. */
const CLOSE_GRACE_MS = 1000;

export async function startCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const log = options.log ?? createLog();
  try {
    return await start(options, log);
  } catch (error) {
    log.error(errorFields(error), 'start refused');
    throw error;
  }
}

async function start(options: CoordinatorOptions, log: Log): Promise<Coordinator> {
  if (
    options.publicUrl !== undefined &&
    (options.store === undefined || syncUrlOf(options.publicUrl) === undefined)
  ) {
    throw new TandemError(
      'invalid-argument',
      `publicUrl ${options.publicUrl}: an http: or https: URL, with a store shared by coordinators`,
    );
  }
  const persistence = await openPersistence(options, log);
  try {
    return await serve(options, log, persistence);
  } catch (error) {
    await persistence.release();
    throw error;
  }
}

async function serve(options: CoordinatorOptions, log: Log, persistence: Persistence): Promise<Coordinator> {
  const source =
    typeof options.reducer === 'string' ? new Uint8Array(await readFile(options.reducer)) : options.reducer;
  // Metered once, here: the workers run these very bytes and browsers fetch them by hash, so every
  // host runs the same code under one identity. A broken reducer is refused now, not at the first client.
  const reducers = await ReducerRegistry.open(source, persistence.reducers);
  if (reducers.current !== reducers.given) {
    log.warn(
      { reducerHash: reducers.current.sha256, schemaVersion: reducers.current.schemaVersion },
      'running the reducer deployed in the data folder, newer than --reducer',
    );
  }
  const staticRoot = options.staticDir === undefined ? undefined : await realpath(options.staticDir);
  if (staticRoot !== undefined && !(await stat(staticRoot)).isDirectory()) {
    throw new Error(`--static ${options.staticDir} is not a folder`);
  }
  const authorize = options.authorize ?? (() => true);
  const silenceMs = options.silenceMs ?? 30_000;

  let publicUrl = options.publicUrl;
  const leases =
    persistence.leases &&
    keepLeases(persistence.leases, {
      leaseMs: options.leaseMs,
      address: () => publicUrl,
      log,
      metrics: () => metrics,
      moveClients: (docId, why) => {
        for (const connection of [...connections]) {
          if (connection.docId === docId) connection.moved(`its lease was lost (${why})`, 1000);
        }
      },
      closeDocument: (docId): Promise<void> => pool.release(docId),
    });
  const store: StoreConfig | undefined =
    persistence.store?.kind === 'postgres' && leases !== undefined
      ? { ...persistence.store, owner: leases.owner }
      : persistence.store;
  const pool = new DocumentPool({
    reducer: reducers.current.bytes,
    older: reducers.older,
    ...(store !== undefined && { store }),
    ...(leases !== undefined && leaseClaims(leases, (docId): Promise<void> => shared.inStep(docId))),
    ...(options.workers !== undefined && { workers: options.workers }),
    ...(options.checkpointEvery !== undefined && { checkpointEvery: options.checkpointEvery }),
    ...(options.maxDocumentBytes !== undefined && { maxDocumentBytes: options.maxDocumentBytes }),
    ...(options.maxOpenDocuments !== undefined && { maxOpenDocuments: options.maxOpenDocuments }),
    ...(options.idleDocumentMs !== undefined && { idleDocumentMs: options.idleDocumentMs }),
    onUnclaimFailed: (docId, error) => {
      log.warn({ docId, ...errorFields(error) }, 'lease release failed');
      metrics.inc('tandem_lease_release_failures_total');
    },
    onDocumentClosed: (docId, reason, error) => {
      if (error === undefined) {
        log.debug({ docId, reason }, 'document closed');
        metrics.inc('tandem_documents_closed_total', { reason });
      } else {
        log.error({ docId, reason, ...errorFields(error) }, 'document close failed');
        metrics.inc('tandem_document_close_failures_total');
      }
    },
  });
  const hubs = new Map<string, DocumentHub>();
  const connections = new Set<SyncConnection>();
  const shelf = persistence.reducers;
  const shared = new SharedReducers({
    registry: reducers,
    pool,
    ...(leases !== undefined && typeof shelf === 'object' && { currentInStore: () => shelf.current() }),
    closeConnections: (reason, except) => {
      for (const connection of [...connections]) {
        if (except === undefined || connection.docId !== except) {
          connection.close(CLOSE_CODES.goingAway, reason);
        }
      }
    },
    pollMs: leases?.leaseMs ?? DEFAULT_LEASE_MS,
    log,
    adopted: () => metrics.inc('tandem_reducers_adopted_total'),
    checkFailed: () => metrics.inc('tandem_reducer_check_failures_total'),
  });
  const metrics = coordinatorMetrics({
    connections: () => connections.size,
    documents: () => hubs.size,
    openDocuments: () => pool.openDocuments,
    residentBytes: () => process.memoryUsage.rss(),
  });
  const maxConnections = options.maxConnections ?? 10_000;
  const hub = (docId: string): DocumentHub => {
    let found = hubs.get(docId);
    if (found === undefined) {
      found = new DocumentHub(
        docId,
        pool,
        (idle) => {
          if (hubs.get(idle.docId) === idle) hubs.delete(idle.docId);
        },
        metrics,
        log,
      );
      hubs.set(docId, found);
    }
    return found;
  };

  const sockets = new WebSocketServer({
    noServer: true,
    maxPayload: protocolLimits.MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
  });
  const server: Server = createServer((request, response) => {
    handleHttp(
      {
        reducer: (sha256) => reducers.get(sha256)?.bytes,
        reducerHash: () => reducers.current.sha256,
        admin: {
          operatorToken: options.operatorToken,
          persistent: persistence.store !== undefined,
          maxBytes: DEFAULT_LIMITS.maxModuleBytes,
          deploy: (bytes) => deploy(bytes),
          migrateAll: () => migrate(),
        },
        staticRoot,
        metrics: () => metrics.render(),
        health: () => ({
          status: 'ok',
          protocolVersion: PROTOCOL_VERSION,
          reducerHash: reducers.current.sha256,
          documents: hubs.size,
          connections: connections.size,
          ...(leases !== undefined && {
            owner: leases.owner,
            owned: leases.owned,
            publicUrl: publicUrl ?? null,
          }),
        }),
      },
      request,
      response,
    ).catch((error: unknown) => {
      log.error({ url: request.url, ...errorFields(error) }, 'http request failed');
      metrics.inc('tandem_http_errors_total');
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  server.on('upgrade', (request, socket, head) => {
    const pathname = new URL(request.url ?? '/', 'http://coordinator').pathname;
    if (pathname !== SYNC_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => {
      if (connections.size >= maxConnections) {
        // Refused with a typed error the client can act on (retry later), not a bare close.
        ws.send(
          encodeMessage({
            type: 'error',
            kind: 'quota',
            message: `the coordinator holds its maximum of ${maxConnections} connections`,
            retryAfterMs: 5000,
          }),
        );
        ws.close(CLOSE_CODES.policyViolation, 'too many connections');
        log.warn({ kind: 'quota', maxConnections }, 'quota close');
        metrics.inc('tandem_connection_errors_total', { kind: 'quota' });
        return;
      }
      const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
      const connection: SyncConnection = new SyncConnection(ws, {
        onError: (kind, message) => {
          log.warn({ kind, docId: connection.docId, remote, error: message }, errorEvent(kind));
          metrics.inc('tandem_connection_errors_total', { kind });
        },
        hub,
        authorize,
        reducerHash: () => reducers.current.sha256,
        silenceMs,
        onWelcome: () => welcomed(),
        ...(publicUrl !== undefined && { publicUrl }),
        onRedirect: (to) => {
          log.debug({ docId: connection.docId, remote, to }, 'redirected');
          metrics.inc('tandem_redirects_total');
        },
        onClose: (closed, code, reason) => {
          welcomed();
          connections.delete(closed);
          log.info({ docId: closed.docId, remote, code, reason }, 'connection closed');
          metrics.inc('tandem_connections_closed_total', { code: String(code) });
        },
      });
      const welcomed = limitBytes(socket, PRE_WELCOME_BYTES, head.length, (received) => {
        // Stop feeding ws's reader: the rest of the message is never buffered.
        socket.pause();
        connection.abort(
          'quota',
          `${received} bytes before the welcome: at most ${PRE_WELCOME_BYTES} are taken until the hello is answered`,
        );
      });
      connections.add(connection);
    });
  });

  try {
    await pool.ready();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await pool.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  if (publicUrl === undefined && !wildcard) publicUrl = url;
  log.info(
    {
      url,
      dataDir: options.dataDir ?? null,
      publicUrl: publicUrl ?? null,
      store: persistence.store?.kind ?? null,
      reducerHash: reducers.current.sha256,
      schemaVersion: reducers.current.schemaVersion,
      maxConnections,
      ...(options.workers !== undefined && { workers: options.workers }),
    },
    'coordinator started',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info({ connections: connections.size, documents: hubs.size }, 'coordinator closing');
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of [...connections])
        connection.close(CLOSE_CODES.goingAway, 'coordinator closing');
      await socketsClosed(sockets, CLOSE_GRACE_MS);
      for (const client of sockets.clients) client.terminate();
      server.closeAllConnections();
      await Promise.all([...hubs.values()].map((h) => h.settled()));
      shared.close();
      await pool.close();
      await leases?.close();
      await stopped;
      await persistence.release();
      log.info('coordinator closed');
    })();
    return closing;
  };

  // Deploys and migrate-alls run one after another: a migrate-all moves every document to one reducer.
  let administering: Promise<unknown> = Promise.resolve();
  const administer = <T>(run: () => Promise<T>): Promise<T> => {
    const next = administering.then(run);
    administering = next.catch(() => undefined);
    return next;
  };
  const deploy = (bytes: Uint8Array): Promise<DeployOutcome> => administer(() => deployNow(bytes));
  const migrate = (): Promise<MigrateReport> =>
    administer(async () => {
      const { sha256, schemaVersion } = reducers.current;
      const docIds = await persistence.list();
      const answers = await migrateAll(docIds, {
        migrate: (docId) => pool.migrate(docId),
        release: (docId) => pool.release(docId),
        moved: (docId) => {
          for (const connection of [...connections]) {
            if (connection.docId === docId) {
              connection.close(CLOSE_CODES.goingAway, 'the document moved to the current reducer');
            }
          }
        },
        report: (docId, migration) => {
          metrics.inc('tandem_document_migrations_total', { outcome: migration.outcome });
          if (migration.outcome !== 'failed') {
            log.info({ docId, ...migration }, 'document migration');
            return;
          }
          log.warn({ docId, ...migration, reducerHash: sha256 }, 'migration failed');
          metrics.inc('tandem_migration_failures_total');
        },
      });
      const documents = answers.map(({ docId, migration }) => ({ docId, ...migration }));
      const count = (outcome: string) => documents.filter((d) => d.outcome === outcome).length;
      log.info(
        {
          reducerHash: sha256,
          migrated: count('migrated'),
          current: count('current'),
          failed: count('failed'),
        },
        'documents migrated',
      );
      return { sha256, schemaVersion, documents };
    });

  // A deploy: recorded, loaded by the workers, then every document closes (each reopens under the new
  // reducer at its next use, `migrate` running then) and every connection is closed so that its
  // client hears the new reducer's hash in its next welcome.
  const deployNow = async (bytes: Uint8Array): Promise<DeployOutcome> => {
    const outcome = await reducers.deploy(bytes, () => shared.activate());
    // A deploy reads the store first: it may have found another coordinator's deploy to run.
    await shared.activate();
    const kind = outcome.status === 'refused' ? outcome.kind : outcome.status;
    metrics.inc('tandem_reducer_deploys_total', { outcome: kind });
    if (outcome.status === 'refused') log.warn({ kind, error: outcome.message }, 'deploy refused');
    else
      log.info(
        { reducerHash: outcome.reducer.sha256, schemaVersion: outcome.reducer.schemaVersion, outcome: kind },
        'reducer deployed',
      );
    return outcome;
  };

  return {
    url,
    port: address.port,
    get reducerHash() {
      return reducers.current.sha256;
    },
    deploy: (bytes) => {
      if (persistence.store === undefined) {
        return Promise.reject(new TandemError('invalid-argument', 'deploys need a data folder (dataDir)'));
      }
      return deploy(bytes);
    },
    migrateAll: () => {
      if (persistence.store === undefined) {
        return Promise.reject(new TandemError('invalid-argument', 'migrations need a data folder (dataDir)'));
      }
      return migrate();
    },
    pageHash: (docId) => pool.pageHash(docId),
    close,
  };
}

/** The log message of an error a connection is closed with. */
function errorEvent(kind: ErrorKind): string {
  switch (kind) {
    case 'malformed':
    case 'unsupported-version':
    case 'unexpected':
      return 'protocol error';
    case 'unauthorized':
      return 'auth refused';
    case 'quota':
      return 'quota close';
    case 'internal':
      return 'connection failed';
    default:
      return 'connection refused';
  }
}

/**
 * Counts the bytes arriving on `socket` (`already` of them arrived with the upgrade): past `limit`,
 * `exceeded` is told once. The returned function stops the count.
 */
function limitBytes(
  socket: Duplex,
  limit: number,
  already: number,
  exceeded: (received: number) => void,
): () => void {
  let received = already;
  const count = (chunk: Buffer): void => {
    received += chunk.length;
    if (received <= limit) return;
    socket.off('data', count);
    exceeded(received);
  };
  socket.on('data', count);
  return () => socket.off('data', count);
}

/** Resolves when every socket has closed, or after `ms`. */
function socketsClosed(sockets: WebSocketServer, ms: number): Promise<void> {
  const open = [...sockets.clients].filter((c) => c.readyState !== c.CLOSED);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    let left = open.length;
    for (const client of open) {
      client.once('close', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}
