// What the determinism fixture page exposes to the test on `window`.
import type { JsonWorkload } from './workload.js';

export interface WorkerReply {
  readonly hash?: string;
  readonly outcomes?: string[];
  readonly error?: string;
}

declare global {
  interface Window {
    runWorkload(reducerUrl: string, workload: JsonWorkload): Promise<WorkerReply>;
  }
}
