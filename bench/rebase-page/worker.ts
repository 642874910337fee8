// The rebase scenario (scenario.ts) in a dedicated worker, where host-browser's owner keeps a document.
import type { RebaseInput, RebaseReply } from '../src/rebase-page-api.js';
import { runScenario } from './scenario.js';

const scope = globalThis as unknown as { postMessage(message: RebaseReply): void };

self.onmessage = (event: MessageEvent<RebaseInput>) => {
  runScenario(event.data).then(
    (reply) => scope.postMessage(reply),
    (error: unknown) =>
      scope.postMessage({
        error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error),
      }),
  );
};
