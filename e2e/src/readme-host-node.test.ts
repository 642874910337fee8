// host-node/README.md's "Reading exactly" block runs as written (its import dropped, the coordinator's
// URL and the reducer's path pointed at this test's), against a real coordinator, and its results are
// what its comments say.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
let coordinator: Coordinator;

beforeAll(async () => {
  coordinator = await startCoordinator({ reducer: await readFile(TODO), port: 0, workers: 1 });
});
afterAll(async () => {
  await coordinator.close();
});

/** The ```ts block that follows the README's marker naming this test. */
async function readmeBlock(): Promise<string> {
  const readme = await readFile(join(REPO_ROOT, 'host-node/README.md'), 'utf8');
  const marker = readme.indexOf('<!-- e2e/src/readme-host-node.test.ts');
  const start = readme.indexOf('```ts\n', marker);
  const end = readme.indexOf('\n```', start);
  expect(marker).toBeGreaterThan(0);
  return readme.slice(start + '```ts\n'.length, end);
}

type Run = (openDocument: unknown) => Promise<Record<string, unknown>>;
const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
  ...args: string[]
) => Run;

test('the README block on exact reads, caughtUp and rejections runs and gives what its comments say', async () => {
  const block = await readmeBlock();
  const imports = "import { openDocument } from '@tandem/host-node';\n";
  expect(block.startsWith(imports)).toBe(true);
  const code = block
    .slice(imports.length)
    .replace("'ws://127.0.0.1:8787/sync'", JSON.stringify(`${coordinator.url.replace('http', 'ws')}/sync`))
    .replace("'reducers/todo/dist/reducer.wasm'", JSON.stringify(TODO));
  const run = new AsyncFunction(
    'openDocument',
    `${code}\nreturn { objects, exact, big, heard, after, lsn, rejected };`,
  );
  const { objects, exact, big, heard, after, lsn, rejected } = await run(openDocument);
  expect(objects).toEqual([{ 2: 2, 10: 10, id: 'milk' }]);
  expect(Object.keys((objects as object[])[0]!)).toEqual(['2', '10', 'id']);
  expect(exact).toEqual({ columns: ['id', 'id', '10', '2'], rows: [['a', 'milk', 10, 2]] });
  expect(big).toEqual([{ n: 9007199254740993n, m: 7n }]);
  expect(after).toEqual([{ n: 2 }]);
  expect((heard as unknown[])[0]).toEqual({ columns: ['id', 'title'], rows: [['a', 'milk']] });
  expect(rejected).toEqual([
    {
      lsn,
      reason: 'title is longer than 200 characters',
      final: true,
      payload: expect.any(Uint8Array),
      mutation: { type: 'create', id: 'c', title: 'x'.repeat(201) },
    },
  ]);
});
