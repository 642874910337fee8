// Bytes on the wire per small todo mutation (DESIGN.md §5, issue 10 must-show 6): a lone host-node client
// against a coordinator over a real WebSocket, through a TCP relay that counts what each side sends
// (WebSocket framing included, TCP/IP headers not). Each mutation is awaited until confirmed: up is its
// push, down its frame and its push-result. The document holds 1000 todos; mutations alternate creates
// (UUID-shaped ids from a seeded generator, as the app makes them: a cell lands mid-page in the id index) and toggles. Beside it, the
// floor: the mutation's own bytes (its JSON payload).
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { report } from './report.js';

const TODO = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const PER_ROUND = 40;

/** Ids shaped like the app's (random UUIDs), from a seeded generator: every run sees the same pages. */
let state = 0x2026_1205;
function seededId(): string {
  let hex = '';
  while (hex.length < 32) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    hex += (state >>> 0).toString(16).padStart(8, '0');
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const root = await mkdtemp(join(tmpdir(), 'tandem-wire-'));
const coordinator = await startCoordinator({ reducer: TODO, port: 0, dataDir: join(root, 'coordinator') });
let up = 0;
let down = 0;
const relay = createServer((client) => {
  const server = connect(coordinator.port, '127.0.0.1');
  client.on('data', (chunk) => {
    up += chunk.length;
    server.write(chunk);
  });
  server.on('data', (chunk) => {
    down += chunk.length;
    client.write(chunk);
  });
  for (const socket of [client, server]) socket.on('error', () => undefined);
  client.on('close', () => server.destroy());
  server.on('close', () => client.destroy());
});
await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
const address = relay.address();
const port = typeof address === 'object' && address !== null ? address.port : 0;

const doc = await openDocument({
  docId: 'wire-bench',
  reducer: TODO,
  dataDir: join(root, 'client'),
  coordinatorUrl: `ws://127.0.0.1:${port}/sync`,
});
const ids = Array.from({ length: 1000 }, () => seededId());
await doc.mutateBatch(ids.map((id, i) => ({ type: 'create', id, title: `todo ${i}` })));
await doc.synced();

const ups: number[] = [];
const downs: number[] = [];
let payloads = 0;
let mutations = 0;
for (let round = 0; round < ROUNDS; round++) {
  const [up0, down0] = [up, down];
  for (let i = 0; i < PER_ROUND; i++) {
    const body =
      i % 2 === 0
        ? { type: 'create', id: seededId(), title: `a new todo ${i}` }
        : { type: 'toggle', id: ids[(round * PER_ROUND + i) % ids.length]! };
    payloads += new TextEncoder().encode(JSON.stringify(body)).length;
    mutations++;
    const { lsn } = await doc.mutate(body);
    await doc.fate(lsn);
    await doc.synced();
  }
  // Let the last push-result and frame land before counting.
  await new Promise((resolve) => setTimeout(resolve, 50));
  ups.push((up - up0) / PER_ROUND);
  downs.push((down - down0) / PER_ROUND);
}
await doc.close();
relay.close();
await coordinator.close();
await rm(root, { recursive: true, force: true });

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const payload = payloads / mutations;
console.log(
  `# wire: one client, ${PER_ROUND} small mutations (creates with UUID-shaped seeded ids, toggles) per round over 1000 todos, each awaited until confirmed; median of ${ROUNDS} rounds`,
);
for (const [figure, bytes] of [
  ['wire: bytes per small mutation up (push)', median(ups)],
  ['wire: bytes per small mutation down (frame + result)', median(downs)],
] as const) {
  report(
    figure,
    bytes,
    'B',
    `floor: the mutation's payload ${payload.toFixed(0)} B, ratio ${(bytes / payload).toFixed(2)}, goal ≤ 300 B`,
  );
}
