import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducer = new Uint8Array(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
const mutation = (lsn: number, body: object) => ({
  lsn,
  timestamp: 1_700_000_000_000,
  payload: new TextEncoder().encode(JSON.stringify(body)),
});

test('/metrics counts connections, pushes, mutations by outcome and frames, in Prometheus text format', async () => {
  const coordinator = await startCoordinator({ reducer, port: 0, workers: 1 });
  try {
    const client = await TestSyncClient.connect(coordinator.url, { docId: 'metrics', timelineId: 't' });
    await client.next('welcome');
    client.send({
      type: 'push',
      mutations: [
        mutation(0, { type: 'create', id: 'a', title: 'a' }),
        mutation(1, { type: 'toggle', id: 'ghost' }),
      ],
    });
    await client.next('push-result');
    const response = await fetch(`${coordinator.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^# TYPE tandem_connections gauge$/m);
    expect(text).toMatch(/^tandem_connections 1$/m);
    expect(text).toMatch(/^tandem_pushes_total 1$/m);
    expect(text).toMatch(/^tandem_mutations_total\{outcome="applied"\} 1$/m);
    expect(text).toMatch(/^tandem_mutations_total\{outcome="rejected"\} 1$/m);
    expect(text).toMatch(/^tandem_frames_total 1$/m);
    expect(text).toMatch(/^tandem_frame_bytes_total [1-9]\d*$/m);
    client.socket.close();
  } finally {
    await coordinator.close();
  }
});

test('a connection beyond maxConnections is refused with a quota error that says when to retry', async () => {
  const coordinator = await startCoordinator({ reducer, port: 0, workers: 1, maxConnections: 1 });
  try {
    const first = await TestSyncClient.connect(coordinator.url, { docId: 'cap', timelineId: 'a' });
    await first.next('welcome');
    const second = await TestSyncClient.connect(coordinator.url, { docId: 'cap', timelineId: 'b' });
    const error = await second.next('error');
    expect(error).toMatchObject({ kind: 'quota', retryAfterMs: 5000 });
    expect((await second.closed).code).toBe(1008);
    const text = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(text).toMatch(/^tandem_connection_errors_total\{kind="quota"\} 1$/m);
    first.socket.close();
  } finally {
    await coordinator.close();
  }
});
