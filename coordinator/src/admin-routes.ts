// The operator's HTTP: `POST /admin/reducers` deploys a reducer while the coordinator serves
// (`tandem-coordinator deploy` is its client). The answer is JSON, `DeployAnswer`, with a status code
// that says the same (200 deployed or already current, 401 no or wrong token, 403 deploys disabled,
// 409 no data folder, 413 too large, 422 refused). `POST /admin/migrate` migrates every document to the
// current reducer (migrate-all.ts; `tandem-coordinator migrate`) and answers `MigrateAnswer`, 200 with
// each document's outcome, failures included, after the same token and data folder checks.
//
// Invariants:
// 1. Nothing is read from a request before its token is checked, and a coordinator started without an
//    operator token takes no deploy at all: auth fails closed.
// 2. The token is compared in constant time (SHA-256 digests, timingSafeEqual).
// 3. A body larger than `maxBytes` is refused (413) and not kept past that size; nothing is deployed.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DocumentMigration } from './migrate-all.js';
import type { DeployOutcome } from './reducer-registry.js';

export const DEPLOY_PATH = '/admin/reducers';
export const MIGRATE_PATH = '/admin/migrate';

export interface AdminContext {
  /** The operator token; deploys are refused (403) without one. */
  readonly operatorToken: string | undefined;
  /** Deploys need a data folder (a document kept only in memory cannot reopen under a new reducer). */
  readonly persistent: boolean;
  /** The largest reducer taken (the loader's `maxModuleBytes`). */
  readonly maxBytes: number;
  readonly deploy: (bytes: Uint8Array) => Promise<DeployOutcome>;
  readonly migrateAll: () => Promise<MigrateReport>;
}

/** What a migrate-all did: the reducer it moved documents to, and each document's outcome in order. */
export interface MigrateReport {
  readonly sha256: string;
  readonly schemaVersion: number;
  readonly documents: readonly ({ readonly docId: string } & DocumentMigration)[];
}

/** The body of every answer of `POST /admin/migrate`. */
export type MigrateAnswer =
  | ({ readonly status: 'done' } & MigrateReport)
  | Extract<DeployAnswer, { status: 'refused' }>;

/** The body of every answer of `POST /admin/reducers`. */
export type DeployAnswer =
  | {
      readonly status: 'deployed' | 'current';
      readonly sha256: string;
      readonly schemaVersion: number;
      /** The reducer it replaced (for `deployed`). */
      readonly previous?: { readonly sha256: string; readonly schemaVersion: number };
    }
  | {
      readonly status: 'refused';
      readonly kind:
        | 'unauthorized'
        | 'deploys-disabled'
        | 'no-data-folder'
        | 'too-large'
        | 'invalid-reducer'
        | 'schema-version-lower';
      readonly message: string;
    };

export async function handleDeploy(
  context: AdminContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (!admitted(context, request, response)) return;
  const body = await readBody(request, context.maxBytes);
  if (body === undefined) {
    return answer(
      response,
      413,
      refused('too-large', `a reducer of more than ${context.maxBytes} bytes is refused`),
    );
  }
  const outcome = await context.deploy(body);
  if (outcome.status === 'refused') return answer(response, 422, refused(outcome.kind, outcome.message));
  const { sha256, schemaVersion } = outcome.reducer;
  return answer(response, 200, {
    status: outcome.status,
    sha256,
    schemaVersion,
    ...(outcome.status === 'deployed' && {
      previous: { sha256: outcome.previous.sha256, schemaVersion: outcome.previous.schemaVersion },
    }),
  });
}

export async function handleMigrate(
  context: AdminContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (!admitted(context, request, response)) return;
  request.resume();
  const report = await context.migrateAll();
  return answer(response, 200, { status: 'done', ...report });
}

/** The checks every admin request passes first (invariant 1); false once it has been answered. */
function admitted(context: AdminContext, request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method !== 'POST') {
    answer(response, 405, refused('invalid-reducer', 'admin requests are POSTs'), { allow: 'POST' });
    return false;
  }
  if (context.operatorToken === undefined) {
    answer(
      response,
      403,
      refused(
        'deploys-disabled',
        'this coordinator takes no admin requests: start it with TANDEM_OPERATOR_TOKEN set (or --operator-token-file)',
      ),
    );
    return false;
  }
  if (!sameToken(bearer(request), context.operatorToken)) {
    answer(response, 401, refused('unauthorized', 'a missing or wrong operator token'), {
      'www-authenticate': 'Bearer',
    });
    return false;
  }
  if (!context.persistent) {
    answer(
      response,
      409,
      refused(
        'no-data-folder',
        'admin requests need a data folder: its documents reopen under the new reducer',
      ),
    );
    return false;
  }
  return true;
}

function refused(kind: Extract<DeployAnswer, { status: 'refused' }>['kind'], message: string): DeployAnswer {
  return { status: 'refused', kind, message };
}

function bearer(request: IncomingMessage): string | undefined {
  const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
  return match?.[1];
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The whole body, or undefined when it passes `maxBytes` (invariant 3). */
async function readBody(request: IncomingMessage, maxBytes: number): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  // Read to the end either way (so the answer reaches the client), keeping nothing past the bound.
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length <= maxBytes) chunks.push(chunk);
    else chunks.length = 0;
  }
  return length > maxBytes ? undefined : new Uint8Array(Buffer.concat(chunks));
}

function answer(
  response: ServerResponse,
  status: number,
  body: DeployAnswer | MigrateAnswer,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(text);
}
