// The coordinator's network front: one Node HTTP server on one port for health, the reducer by hash,
// static files, and WebSocket upgrades on /sync (sync protocol v3; see sync-connection.ts).
//
// Invariants:
// 1. One DocumentHub per document with connections (or work queued): all of a document's traffic
//    goes through it, so its frames go out in lsn order (document-hub.ts).
// 2. `close()` stops accepting first, then closes every socket, lets each document's queued steps
//    finish, and closes the pool last: every frame acknowledged was synced, and no step is cut short.
import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeMessage, loadReducer, PROTOCOL_VERSION, protocolLimits } from '@tandem/runtime';
import { WebSocketServer } from 'ws';
import { DocumentHub } from './document-hub.js';
import { DocumentPool } from './document-pool.js';
import { handleHttp } from './http-routes.js';
import { coordinatorMetrics } from './metrics.js';
import { CLOSE_CODES, SyncConnection } from './sync-connection.js';

export interface CoordinatorOptions {
  /** The reducer component: a path to the `.wasm` file, or its bytes. */
  readonly reducer: string | Uint8Array;
  /** Where documents persist; in memory only when absent. */
  readonly dataDir?: string;
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
}

export interface Coordinator {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  readonly reducerHash: string;
  /** The document's pages as the coordinator holds them (SHA-256 of the database file). */
  pageHash(docId: string): Promise<string>;
  close(): Promise<void>;
}

const SYNC_PATH = '/sync';
/** How long a closing coordinator waits for peers to answer its close frames. */
const CLOSE_GRACE_MS = 1000;

export async function startCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const reducer =
    typeof options.reducer === 'string' ? new Uint8Array(await readFile(options.reducer)) : options.reducer;
  // Refuse a broken reducer now, not at the first client.
  await loadReducer(reducer);
  const reducerHash = createHash('sha256').update(reducer).digest('hex');
  const staticRoot = options.staticDir === undefined ? undefined : await realpath(options.staticDir);
  if (staticRoot !== undefined && !(await stat(staticRoot)).isDirectory()) {
    throw new Error(`--static ${options.staticDir} is not a folder`);
  }
  const authorize = options.authorize ?? (() => true);
  const silenceMs = options.silenceMs ?? 30_000;

  const pool = new DocumentPool({
    reducer,
    ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
    ...(options.workers !== undefined && { workers: options.workers }),
    ...(options.checkpointEvery !== undefined && { checkpointEvery: options.checkpointEvery }),
    ...(options.maxDocumentBytes !== undefined && { maxDocumentBytes: options.maxDocumentBytes }),
  });
  const hubs = new Map<string, DocumentHub>();
  const connections = new Set<SyncConnection>();
  const metrics = coordinatorMetrics({ connections: () => connections.size, documents: () => hubs.size });
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
        reducer,
        reducerHash,
        staticRoot,
        metrics: () => metrics.render(),
        health: () => ({
          status: 'ok',
          protocolVersion: PROTOCOL_VERSION,
          reducerHash,
          documents: hubs.size,
          connections: connections.size,
        }),
      },
      request,
      response,
    ).catch(() => {
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
        metrics.inc('tandem_connection_errors_total', { kind: 'quota' });
        return;
      }
      const connection = new SyncConnection(ws, {
        onError: (kind) => metrics.inc('tandem_connection_errors_total', { kind }),
        hub,
        authorize,
        reducerHash,
        silenceMs,
        onClose: (closed) => connections.delete(closed),
      });
      connections.add(connection);
    });
  });

  try {
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

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of [...connections])
        connection.close(CLOSE_CODES.goingAway, 'coordinator closing');
      await socketsClosed(sockets, CLOSE_GRACE_MS);
      for (const client of sockets.clients) client.terminate();
      server.closeAllConnections();
      await Promise.all([...hubs.values()].map((h) => h.settled()));
      await pool.close();
      await stopped;
    })();
    return closing;
  };

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    reducerHash,
    pageHash: (docId) => pool.pageHash(docId),
    close,
  };
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
