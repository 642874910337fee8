// `tandem-coordinator deploy <file.wasm>`: hands a reducer to a running coordinator (POST
// /admin/reducers, admin-routes.ts) under the operator token in TANDEM_OPERATOR_TOKEN, and says what the
// coordinator answered. Exit codes: 0 deployed (or already current), 1 refused or unreachable, 2 usage.
// `tandem-coordinator migrate` (POST /admin/migrate) migrates every document to the current reducer and
// prints a line per document; exit code 1 when one failed.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { DeployAnswer, MigrateAnswer } from './admin-routes.js';

export const DEPLOY_USAGE = `usage: tandem-coordinator deploy <file.wasm> [--url http://127.0.0.1:8787]

  Makes <file.wasm> (tandem build's reducer.wasm) the current reducer of the running coordinator at
  --url, without a restart. The operator token is read from TANDEM_OPERATOR_TOKEN (the coordinator
  must have been started with the same). Refused, and nothing changes: bytes that are not a reducer
  of this world, and a schema version lower than the current reducer's.
`;

export const MIGRATE_USAGE = `usage: tandem-coordinator migrate [--url http://127.0.0.1:8787]

  Migrates every document in the data folder of the running coordinator at --url to its current
  reducer, one at a time while it serves, and prints each document's outcome: migrated from→to,
  already current, or failed (why; the document stays on its reducer and keeps serving). The operator
  token is read from TANDEM_OPERATOR_TOKEN. Exit code 1 when a document failed.
`;

/** The options both commands take. */
const OPTIONS = {
  url: { type: 'string', default: 'http://127.0.0.1:8787' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Refused = Extract<DeployAnswer, { status: 'refused' }>;

/**
 * POSTs `init` to the admin route `endpoint` and returns the coordinator's answer; a refusal or no
 * answer at all is said on stderr (as `tandem-coordinator <command>: …`) and gives undefined.
 */
async function postAdmin<A extends { readonly status: string }>(
  command: string,
  endpoint: URL,
  init: RequestInit,
  isAnswer: (body: unknown) => body is A | Refused,
): Promise<Exclude<A, Refused> | undefined> {
  let answer: A | Refused;
  try {
    const response = await fetch(endpoint, { method: 'POST', ...init });
    const body: unknown = await response.json();
    if (!isAnswer(body)) throw new Error(`an answer that is not a ${command}'s (HTTP ${response.status})`);
    answer = body;
  } catch (error) {
    process.stderr.write(
      `tandem-coordinator ${command}: ${endpoint.origin} did not answer: ${(error as Error).message}\n`,
    );
    return undefined;
  }
  if (answer.status === 'refused') {
    const { kind, message } = answer as Refused;
    process.stderr.write(`tandem-coordinator ${command}: refused (${kind}): ${message}\n`);
    return undefined;
  }
  return answer as Exclude<A, Refused>;
}

export function isDeployCommand(argv: readonly string[]): boolean {
  return argv[0] === 'deploy';
}

export function isMigrateCommand(argv: readonly string[]): boolean {
  return argv[0] === 'migrate';
}

export async function migrateMain(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let url: string;
  try {
    const { values, positionals } = parseArgs({
      args: argv.slice(1),
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    });
    if (values.help === true) {
      process.stdout.write(MIGRATE_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new Error('migrate takes no file');
    url = values.url ?? 'http://127.0.0.1:8787';
  } catch (error) {
    return migrateUsage((error as Error).message);
  }
  const token = env.TANDEM_OPERATOR_TOKEN;
  if (token === undefined || token === '') return migrateUsage('TANDEM_OPERATOR_TOKEN is not set');
  const answer = await postAdmin(
    'migrate',
    new URL('/admin/migrate', url),
    { headers: { authorization: `Bearer ${token}` } },
    isMigrateAnswer,
  );
  if (answer === undefined) return 1;
  let failed = 0;
  for (const document of answer.documents) {
    const what =
      document.outcome === 'migrated'
        ? `migrated ${document.fromVersion} -> ${document.toVersion}`
        : document.outcome === 'current'
          ? `already current (schema ${document.schemaVersion})`
          : `failed: ${document.reason}`;
    if (document.outcome === 'failed') failed++;
    process.stdout.write(`${document.docId}: ${what}\n`);
  }
  process.stdout.write(
    `${answer.documents.length} documents, ${failed} failed; current reducer ${answer.sha256}, schema ${answer.schemaVersion}\n`,
  );
  return failed === 0 ? 0 : 1;
}

function migrateUsage(problem: string): number {
  process.stderr.write(`tandem-coordinator migrate: ${problem}\n${MIGRATE_USAGE}`);
  return 2;
}

export async function deployMain(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let values: { url?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv.slice(1),
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    return usage((error as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(DEPLOY_USAGE);
    return 0;
  }
  const [file, ...rest] = positionals;
  if (file === undefined || rest.length > 0) return usage('expected one reducer file');
  const token = env.TANDEM_OPERATOR_TOKEN;
  if (token === undefined || token === '') return usage('TANDEM_OPERATOR_TOKEN is not set');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (error) {
    return usage(`${file}: ${(error as Error).message}`);
  }
  const answer = await postAdmin(
    'deploy',
    new URL('/admin/reducers', values.url ?? 'http://127.0.0.1:8787'),
    { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/wasm' }, body: bytes },
    isAnswer,
  );
  if (answer === undefined) return 1;
  if (answer.status === 'current') {
    process.stdout.write(
      `${file} is already the current reducer (sha256 ${answer.sha256}, schema ${answer.schemaVersion})\n`,
    );
  } else {
    const from =
      answer.previous === undefined
        ? ''
        : ` (was ${answer.previous.sha256}, schema ${answer.previous.schemaVersion})`;
    process.stdout.write(
      `deployed ${file}: sha256 ${answer.sha256}, schema ${answer.schemaVersion}${from}\n`,
    );
  }
  return 0;
}

function usage(problem: string): number {
  process.stderr.write(`tandem-coordinator deploy: ${problem}\n${DEPLOY_USAGE}`);
  return 2;
}

function isAnswer(body: unknown): body is DeployAnswer {
  if (typeof body !== 'object' || body === null) return false;
  const { status, sha256, message } = body as Record<string, unknown>;
  if (status === 'refused') return typeof message === 'string';
  return (status === 'deployed' || status === 'current') && typeof sha256 === 'string';
}

function isMigrateAnswer(body: unknown): body is MigrateAnswer {
  if (typeof body !== 'object' || body === null) return false;
  const { status } = body as Record<string, unknown>;
  return status === 'done' || status === 'refused';
}
