// The Chromium rebase page: runs the scenario in a dedicated worker (where host-browser's owner keeps a
// document) and hands back the timings taken there; `runInPage` runs it here, for a CPU profile.
import type { RebaseInput, RebaseReply } from '../src/rebase-page-api.js';
import { runScenario } from './scenario.js';

window.rebaseBench = {
  run: (input: RebaseInput) =>
    new Promise<RebaseReply>((resolve) => {
      const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
      worker.onmessage = (event: MessageEvent<RebaseReply>) => {
        resolve(event.data);
        worker.terminate();
      };
      worker.onerror = (event) => resolve({ error: `worker error: ${event.message}` });
      worker.postMessage(input);
    }),
  runInPage: (input: RebaseInput) => runScenario(input),
};
