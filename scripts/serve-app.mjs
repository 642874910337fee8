// Serves the todo demo: a coordinator running the todo reducer, with the built app as its static folder.
// `npm start` calls serveApp; the Playwright suite runs this file (`node scripts/serve-app.mjs`, port from
// PORT, data in TANDEM_DATA or, with --temp-data, a fresh folder removed on exit). Needs `npm run build`.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const REDUCER = join(ROOT, 'reducers/todo/dist/reducer.wasm');
export const APP_DIR = join(ROOT, 'reducers/todo/app/dist');
export const DEFAULT_PORT = 8787;

/** Why `port` cannot be served: a message naming it and how to pick another. */
export function portTakenMessage(port) {
  return `port ${port} is in use (another npm start or coordinator?): stop it, or choose another port with PORT=<port> npm start`;
}

/** Resolves when `port` on the loopback interface is free to listen on; rejects with EADDRINUSE's message if not. */
export async function checkPortFree(port) {
  const { createServer } = await import('node:net');
  await new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', (error) =>
      reject(error?.code === 'EADDRINUSE' ? new Error(portTakenMessage(port)) : error),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort()));
  });
}

/** Starts the coordinator serving the app on `port` (loopback), documents in `dataDir`. */
export async function serveApp({ port, dataDir }) {
  for (const built of [REDUCER, join(APP_DIR, 'index.html')]) {
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
  }
  const { startCoordinator } = await import('@tandem/coordinator');
  try {
    return await startCoordinator({ reducer: REDUCER, staticDir: APP_DIR, dataDir, port });
  } catch (error) {
    if (error?.code === 'EADDRINUSE') {
      throw new Error(portTakenMessage(port), { cause: error });
    }
    throw error;
  }
}

/** Stops `coordinator` on Ctrl-C or SIGTERM, then runs `after` and exits. */
export function closeOnSignals(coordinator, after = () => {}) {
  const stop = async () => {
    await coordinator.close();
    after();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const temporary = process.argv.includes('--temp-data');
  const dataDir = temporary
    ? mkdtempSync(join(tmpdir(), 'tandem-app-'))
    : (process.env.TANDEM_DATA ?? 'data');
  const port = Number(process.env.PORT ?? DEFAULT_PORT);
  const coordinator = await serveApp({ port, dataDir }).catch((error) => {
    console.error(`✗ ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
  console.log(`todo demo on http://localhost:${coordinator.port}/ (documents in ${dataDir})`);
  closeOnSignals(coordinator, () => {
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
  });
}
