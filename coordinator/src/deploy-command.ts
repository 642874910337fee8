// `tandem-coordinator deploy <file.wasm>`: hands a reducer to a running coordinator (POST
// /admin/reducers, admin-routes.ts) under the operator token in TANDEM_OPERATOR_TOKEN, and says what the
// coordinator answered. Exit codes: 0 deployed (or already current), 1 refused or unreachable, 2 usage.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { DeployAnswer } from './admin-routes.js';

export const DEPLOY_USAGE = `usage: tandem-coordinator deploy <file.wasm> [--url http://127.0.0.1:8787]

  Makes <file.wasm> (tandem build's reducer.wasm) the current reducer of the running coordinator at
  --url, without a restart. The operator token is read from TANDEM_OPERATOR_TOKEN (the coordinator
  must have been started with the same). Refused, and nothing changes: bytes that are not a reducer
  of this world, and a schema version lower than the current reducer's.
`;

export function isDeployCommand(argv: readonly string[]): boolean {
  return argv[0] === 'deploy';
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
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:8787' },
        help: { type: 'boolean', short: 'h' },
      },
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
  const url = new URL('/admin/reducers', values.url ?? 'http://127.0.0.1:8787');
  let answer: DeployAnswer;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/wasm' },
      body: bytes,
    });
    const body: unknown = await response.json();
    if (!isAnswer(body)) throw new Error(`an answer that is not a deploy's (HTTP ${response.status})`);
    answer = body;
  } catch (error) {
    process.stderr.write(
      `tandem-coordinator deploy: ${url.origin} did not answer: ${(error as Error).message}\n`,
    );
    return 1;
  }
  if (answer.status === 'refused') {
    process.stderr.write(`tandem-coordinator deploy: refused (${answer.kind}): ${answer.message}\n`);
    return 1;
  }
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
