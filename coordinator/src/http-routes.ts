// The coordinator's plain HTTP: health, the prepared reducers by hash (and where to find the current
// one), an optional folder of static files (the web app), and the operator's deploys (admin-routes.ts).
//
// Invariants:
// 1. A static request is served only from a file whose real path (symlinks resolved) lies inside the
//    static folder: `..`, encoded separators, NUL bytes and links pointing outside get a 404.
// 2. A reducer is served only under its own SHA-256, so its URL names its bytes and may be cached
//    forever; every reducer the coordinator knows is served (the current one and those before it). What is served is the prepared reducer (metered once at start): the bytes the
//    coordinator's workers run, so a browser runs the same code without an instrumenter of its own.
// 3. `/reducers/current` names that URL and is never cached: an app asks it first, so after the
//    coordinator moves to another reducer (or another meter version) it loads the new one. Both are
//    readable from any origin (CORS `*`, no credentials): an app served elsewhere (a dev server, a
//    CDN) loads the reducer of the coordinator it syncs with, and nothing there is secret.
// 4. Static files under `/assets/` are the build's content-hashed files (vite names them so) and are
//    cached immutably; everything else (index.html) is revalidated. A tab that takes over a document
//    while the network is down starts its owner worker from the browser's cache: with `no-cache` that
//    load needs the server and the takeover failed offline.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { type AdminContext, DEPLOY_PATH, handleDeploy, handleMigrate, MIGRATE_PATH } from './admin-routes.js';

export interface HttpContext {
  /** The prepared bytes of a reducer the coordinator knows (reducer-registry.ts), by their SHA-256. */
  readonly reducer: (sha256: string) => Uint8Array | undefined;
  /** The current reducer's SHA-256. */
  readonly reducerHash: () => string;
  readonly admin: AdminContext;
  /** The static folder's real path, if any. */
  readonly staticRoot: string | undefined;
  readonly health: () => Record<string, unknown>;
  /** The metrics in Prometheus' text format. */
  readonly metrics: () => string;
}

/** Where an app finds the reducer to load (invariant 3). */
export const CURRENT_REDUCER_PATH = '/reducers/current';

/** The body of `GET /reducers/current`. */
export interface CurrentReducer {
  /** The prepared reducer's SHA-256: the identity clients say in hello. */
  readonly sha256: string;
  /** Where it is served (absolute path on the coordinator's origin). */
  readonly url: string;
}

/** The path the prepared reducer with this SHA-256 is served at (invariant 2). */
export function reducerPath(sha256: string): string {
  return `/reducers/${sha256}.wasm`;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export async function handleHttp(
  context: HttpContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const pathname = new URL(request.url ?? '/', 'http://coordinator').pathname;
  if (pathname === DEPLOY_PATH) return handleDeploy(context.admin, request, response);
  if (pathname === MIGRATE_PATH) return handleMigrate(context.admin, request, response);
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return reply(response, 405, 'method not allowed', { allow: 'GET, HEAD' });
  }
  if (pathname === '/metrics') {
    return reply(response, 200, context.metrics(), {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'cache-control': 'no-store',
    });
  }
  if (pathname === '/health') {
    const body = JSON.stringify(context.health());
    return reply(response, 200, body, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    });
  }
  if (pathname === CURRENT_REDUCER_PATH) {
    const sha256 = context.reducerHash();
    const current: CurrentReducer = { sha256, url: reducerPath(sha256) };
    return reply(response, 200, JSON.stringify(current), {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'access-control-allow-origin': '*',
    });
  }
  const reducer = /^\/reducers\/([0-9a-f]{64})\.wasm$/.exec(pathname);
  if (reducer !== null) {
    const bytes = context.reducer(reducer[1]!);
    if (bytes === undefined) return reply(response, 404, 'no such reducer');
    response.writeHead(200, {
      'content-type': 'application/wasm',
      'content-length': bytes.length,
      'cache-control': 'public, max-age=31536000, immutable',
      'access-control-allow-origin': '*',
      etag: `"${reducer[1]}"`,
    });
    response.end(request.method === 'HEAD' ? undefined : bytes);
    return;
  }
  if (context.staticRoot !== undefined) {
    const file = await staticFile(context.staticRoot, pathname);
    if (file !== undefined) {
      response.writeHead(200, {
        'content-type': CONTENT_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream',
        'content-length': file.size,
        'cache-control': pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
      if (request.method === 'HEAD') response.end();
      else createReadStream(file.path).pipe(response);
      return;
    }
  }
  return reply(response, 404, 'not found');
}

/** The file a request path names inside `root` (index.html for a folder), or undefined (invariant 1). */
async function staticFile(
  root: string,
  pathname: string,
): Promise<{ path: string; size: number } | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').filter((s) => s.length > 0);
  if (segments.some((s) => s === '..' || s === '.')) return undefined;
  let path = join(root, ...segments);
  try {
    path = await realpath(path);
    if (path !== root && !path.startsWith(root + sep)) return undefined;
    let info = await stat(path);
    if (info.isDirectory()) {
      path = await realpath(join(path, 'index.html'));
      if (!path.startsWith(root + sep)) return undefined;
      info = await stat(path);
    }
    return info.isFile() ? { path, size: info.size } : undefined;
  } catch {
    return undefined;
  }
}

function reply(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}
