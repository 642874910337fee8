// The least a worker can do: answer. Its page times how long Chromium takes from navigation to a new
// worker's first answer, which bounds every boot that answers from a worker (OPFS's synchronous files
// exist only in workers).
import type { FromFloor } from './queries.js';

addEventListener('message', () => postMessage({ type: 'pong' } satisfies FromFloor));
