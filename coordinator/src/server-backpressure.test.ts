import { readFile } from 'node:fs/promises';
import type { Push } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducer = new Uint8Array(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);

/** Seeded noise: titles that deflate hardly at all, so page deltas stay about as large as the pages. */
let state = 0x2545f491;
function noise(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let text = '';
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    text += alphabet[state >>> 26];
  }
  return text;
}

/** `count` creates with noisy 200-character ids and titles: frames of hundreds of KB, on the wire too. */
function push(from: number, count: number): Push {
  return {
    type: 'push',
    mutations: Array.from({ length: count }, (_, i) => ({
      lsn: from + i,
      timestamp: 1_700_000_000_000 + from + i,
      payload: new TextEncoder().encode(
        JSON.stringify({ type: 'create', id: `${from + i}-${noise(190)}`, title: noise(200) }),
      ),
    })),
  };
}

test('a client that stops reading is not buffered for without bound: it falls behind, then catches up in order, and a head it asked for meanwhile follows the catch-up', async () => {
  // About 20 MB of frames: more than the socket, the kernel and the connection's outbox hold together.
  const coordinator = await startCoordinator({ reducer, port: 0, workers: 1 });
  const docId = 'slow';
  const writer = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'w' });
  const slow = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 's' });
  await writer.next('welcome');
  await slow.next('welcome');
  // Its catch-up of ~40,000 frames is computed in the document's worker in one call before the first
  // byte leaves (catch-up.ts): over 20 s at load 19–26 here.
  slow.stallMs = 90_000;
  slow.socket.pause();
  const batch = 500;
  let last = -1;
  for (let from = 0; from < 80 * batch; from += batch) {
    writer.send(push(from, batch));
    last = (await writer.next('push-result', (r) => r.appliedLsn === from + batch - 1)).frameLsn ?? -1;
  }
  // Asked while it lags (its outbox past the limit, live frames skipped): answered only after the
  // catch-up, with a head counting every frame the coordinator had made, all of them sent before it.
  slow.send({ type: 'ask-head', id: 1 });
  slow.socket.resume();
  const answer = await slow.next('head');
  expect(answer).toMatchObject({ id: 1, head: last + 1 });
  const before = slow.received.slice(0, slow.received.indexOf(answer));
  expect(before.flatMap((m) => (m.type === 'frames' ? m.frames : [])).at(-1)?.lsn).toBe(last);
  await slow.reach(last + 1);
  expect(slow.violations).toEqual([]);
  const bursts = slow.received.filter((m) => m.type === 'frames' && m.frames.length > 1);
  expect(bursts.length).toBeGreaterThan(0);
  expect(await slow.hash()).toBe(await coordinator.pageHash(docId));
  await Promise.all([writer.close(), slow.close()]);
  await coordinator.close();
}, 180_000); // 20 MB through a paused socket: ~35 s at load 12 here; the waits fail on a stall, not on slowness
