// A deploy whose upload never arrives whole: cut half way, or stalled half way while another deploy is
// posted. Nothing of it is deployed, the cut is logged and counted, and the coordinator serves on.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { DEPLOY_PATH } from './admin-routes.js';
import { createLog } from './log.js';
import { startCoordinator } from './server.js';

const component = async (path: string) => new Uint8Array(await readFile(new URL(path, import.meta.url)));
const v1 = await component('../../e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const v2 = await component('../../reducers/todo/dist/reducer.wasm');
const TOKEN = 'operator-token';

/** A POST of `bytes` to the deploy path whose body stops after `sent` bytes, on a socket left open. */
async function partialDeploy(port: number, bytes: Uint8Array, sent: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.write(
    `POST ${DEPLOY_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TOKEN}\r\n` +
      `content-type: application/wasm\r\ncontent-length: ${bytes.length}\r\n\r\n`,
  );
  socket.write(bytes.subarray(0, sent));
  return socket;
}

const deploy = (url: string, bytes: Uint8Array) =>
  fetch(`${url}${DEPLOY_PATH}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/wasm' },
    body: bytes,
  });

test('a deploy cut half way deploys nothing and is logged and counted; one stalled half way holds up no other deploy', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-admin-cut-'));
  const lines: Record<string, unknown>[] = [];
  const log = createLog({ level: 'debug', destination: { write: (line) => lines.push(JSON.parse(line)) } });
  const coordinator = await startCoordinator({
    reducer: v1,
    dataDir,
    port: 0,
    workers: 1,
    log,
    operatorToken: TOKEN,
  });
  const before = coordinator.reducerHash;
  let stalled: Socket | undefined;
  try {
    // Cut: the upload's connection ends after half the bytes.
    const cut = await partialDeploy(coordinator.port, v2, v2.length >> 1);
    cut.destroy();
    await expect
      .poll(async () =>
        (await (await fetch(`${coordinator.url}/metrics`)).text()).match(/^tandem_http_errors_total 1$/m),
      )
      .not.toBeNull();
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'http request failed' }));
    expect(coordinator.reducerHash).toBe(before);

    // Stalled: half the bytes, then nothing; a whole deploy posted meanwhile goes through.
    stalled = await partialDeploy(coordinator.port, v2, v2.length >> 1);
    const answer = await deploy(coordinator.url, v2);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ status: 'deployed' });
    const deployed = coordinator.reducerHash;
    expect(deployed).not.toBe(before);
    stalled.destroy();
    await expect
      .poll(async () =>
        (await (await fetch(`${coordinator.url}/metrics`)).text()).match(/^tandem_http_errors_total 2$/m),
      )
      .not.toBeNull();
    expect(coordinator.reducerHash).toBe(deployed);
    expect(lines.filter((line) => line.msg === 'reducer deployed').map((line) => line.reducerHash)).toEqual([
      deployed,
    ]);
  } finally {
    stalled?.destroy();
    await coordinator.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
