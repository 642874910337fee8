// The chaos test's coordinator, as a child process it can SIGKILL (forked with an IPC channel):
//   node coordinator-process.js <reducer.wasm> <dataDir> <port>
// It reports `listening` once it serves and answers `page-hash`; the test ends it with SIGKILL.
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { type CoordinatorReport, type CoordinatorRequest, describeError } from './messages.js';

const [reducer, dataDir, portText] = process.argv.slice(2);
if (reducer === undefined || dataDir === undefined || portText === undefined || process.send === undefined) {
  throw new Error('usage (forked with IPC): coordinator-process <reducer.wasm> <dataDir> <port>');
}
const report = (message: CoordinatorReport): void => {
  process.send?.(message);
};
process.on('uncaughtException', (error) => {
  report({ type: 'crashed', error: describeError(error) });
  process.exit(1);
});
process.on('unhandledRejection', (error) => {
  report({ type: 'crashed', error: describeError(error) });
  process.exit(1);
});
// The test owns this process: should it die without killing it, the port must not stay taken.
process.on('disconnect', () => process.exit(0));

let coordinator: Coordinator;
try {
  // One document: one worker is enough, and each worker costs a reducer load at start.
  coordinator = await startCoordinator({ reducer, dataDir, port: Number(portText), workers: 1 });
} catch (error) {
  report({ type: 'start-failed', error: describeError(error) });
  process.exit(1);
}
process.on('message', (request: CoordinatorRequest) => {
  coordinator.pageHash(request.docId).then(
    (hash) => report({ type: 'page-hash', hash }),
    (error: unknown) => report({ type: 'page-hash', hash: null, error: describeError(error) }),
  );
});
report({ type: 'listening', port: coordinator.port });
