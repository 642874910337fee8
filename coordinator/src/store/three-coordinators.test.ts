// Three coordinator processes on one PostgreSQL (issue 13 must-show 1, in miniature): clients reach any
// of them; a document is served by exactly one, the others refuse it with a retry, and a client that
// moves on through the list of coordinators converges with its document's pages.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Push } from '@tandem/runtime';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../testing/postgres-cluster.js';
import { TestSyncClient } from '../testing/sync-client.js';

const reducer = new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url).pathname;
const bin = new URL('../../bin/tandem-coordinator.js', import.meta.url).pathname;
// 30 in the issue; 12 keep the test to seconds (each document opens a reducer instance in its owner).
const DOCUMENTS = 12;

let cluster: PostgresCluster;

beforeAll(async () => {
  cluster = await startPostgresCluster();
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
});

async function startBin(store: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [bin, '--reducer', reducer, '--store', store, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TANDEM_LOG_LEVEL: 'error' },
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on (http:\/\/\S+)/.exec(output);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
  return { child, url };
}

function push(from: number, count: number, docId: string): Push {
  return {
    type: 'push',
    mutations: Array.from({ length: count }, (_, i) => ({
      lsn: from + i,
      timestamp: 1_700_000_000_000 + from + i,
      payload: new TextEncoder().encode(
        JSON.stringify({ type: 'create', id: `${docId}-${from + i}`, title: 'x' }),
      ),
    })),
  };
}

/**
 * Welcomed by whichever coordinator owns `docId`: tries them in list order from `first`, moving on at
 * each `document-unavailable` (what a client with a list of coordinators does).
 */
async function connect(urls: readonly string[], first: number, docId: string, timelineId: string) {
  for (let attempt = 0; attempt < urls.length * 3; attempt++) {
    const url = urls[(first + attempt) % urls.length]!;
    const client = await TestSyncClient.connect(url, { docId, timelineId });
    const welcome = client.next('welcome');
    const error = client.next('error');
    welcome.catch(() => undefined);
    error.catch(() => undefined);
    const answer = await Promise.race([welcome, error]);
    if (answer.type === 'welcome') return { client, welcome: answer, url };
    expect(answer.kind).toBe('document-unavailable');
    await client.closed;
  }
  throw new Error(`no coordinator served ${docId}`);
}

test('three coordinators on one PostgreSQL: every document has exactly one owner, and clients spread over them converge', async () => {
  const store = cluster.createDatabase('three');
  const coordinators = await Promise.all([startBin(store), startBin(store), startBin(store)]);
  const urls = coordinators.map((c) => c.url);
  const seed = Date.now() % 100_000;
  let random = seed;
  const next = (n: number): number => {
    random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
    return random % n;
  };
  try {
    const docIds = Array.from({ length: DOCUMENTS }, (_, i) => `doc-${i}`);
    const writers = await Promise.all(
      docIds.map(async (docId) => {
        const connected = await connect(urls, next(urls.length), docId, `w-${docId}`);
        connected.client.send(push(0, 3, docId));
        await connected.client.next('push-result', (r) => r.appliedLsn === 2);
        return { docId, ...connected };
      }),
    );
    const owned = await Promise.all(
      urls.map(async (url) => ((await (await fetch(`${url}/health`)).json()) as { owned: string[] }).owned),
    );
    // Exactly one owner each: the owned lists are disjoint and cover every document.
    expect(owned.flat().sort(), `seed ${seed}`).toEqual([...docIds].sort());
    for (const { docId, url } of writers) expect(owned[urls.indexOf(url)], `seed ${seed}`).toContain(docId);
    expect(owned.filter((docs) => docs.length > 0).length, `seed ${seed}`).toBeGreaterThan(1);

    // A reader of each document, starting at another coordinator, ends at the owner and converges.
    await Promise.all(
      writers.map(async ({ docId, client, url }) => {
        const reader = await connect(urls, urls.indexOf(url) + 1, docId, `r-${docId}`);
        expect(reader.url).toBe(url);
        await reader.client.reach(reader.welcome.head);
        await client.reach(reader.welcome.head);
        expect(await reader.client.hash()).toBe(await client.hash());
        expect(reader.client.violations).toEqual([]);
        await Promise.all([reader.client.close(), client.close()]);
      }),
    );
  } finally {
    for (const { child } of coordinators) child.kill('SIGKILL');
  }
}, 120_000);
