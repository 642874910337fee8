import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './vite-server.js';

const BIN = join(REPO_ROOT, 'coordinator/bin/tandem-coordinator.js');

/** Runs `tandem-coordinator <args>` with the operator token `token`: its exit code and its stdout and stderr as one text. */
export function runCoordinatorBin(
  args: readonly string[],
  token: string,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, TANDEM_OPERATOR_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const collect = (chunk: Buffer) => {
      out += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, out }));
  });
}
