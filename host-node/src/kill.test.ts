import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { openDocument } from './document.js';
import { TODO_REDUCER } from './testing/paths.js';

const CHILD = fileURLToPath(new URL('../dist/testing/mutate-loop.js', import.meta.url));

/** Runs the mutate loop until it has printed `atLeast` resolutions, then SIGKILLs it. */
function runAndKill(dataDir: string, first: number, atLeast: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dataDir, 'killed', TODO_REDUCER, String(first)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const resolved: string[] = [];
    let pending = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('resolved ')) resolved.push(line.slice(9));
      if (resolved.length >= atLeast) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(resolved);
      else reject(new Error(`the child exited with ${code} before it was killed: ${stderr}`));
    });
  });
}

test('a process killed with SIGKILL while mutating keeps every mutation whose mutate had resolved', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-kill-'));
  try {
    const everResolved: string[] = [];
    for (const [round, atLeast] of [150, 40, 300].entries()) {
      everResolved.push(...(await runAndKill(dataDir, round * 100_000, atLeast)));
      const doc = await openDocument({ docId: 'killed', reducer: TODO_REDUCER, dataDir });
      const ids = new Set((await doc.query('SELECT id FROM todos')).map((row) => row.id));
      const missing = everResolved.filter((id) => !ids.has(id));
      expect(missing, `round ${round}: resolved before the kill, missing after reopening`).toEqual([]);
      expect(await doc.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      await doc.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);
