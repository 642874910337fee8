// Bytes on the wire per small todo mutation (DESIGN.md §5): the `frames` message a second client
// receives for one mutation, with whole pages (protocol v1) and with page deltas (v2), over a document
// of 1000 todos. Both sizes are msgpack of the same frame; only the page encoding differs.
import { readFile } from 'node:fs/promises';
import { AuthorityDocument } from '@tandem/migrations';
import { encodeMessage, type MutationEnvelope, type ServerMessage } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { report } from './report.js';

const TODO = new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url);
const MUTATIONS = Number(process.env.BENCH_RUNS ?? 15) * 10;

const authority = await AuthorityDocument.open({
  docId: 'wire-bench',
  reducer: await loadReducer(await readFile(TODO)),
});
let lsn = 0;
const envelope = (body: object): MutationEnvelope => ({
  timelineId: 'bench',
  lsn: lsn++,
  timestamp: 1_700_000_000_000 + lsn,
  payload: new TextEncoder().encode(JSON.stringify(body)),
});
await authority.push([
  {
    timelineId: 'bench',
    mutations: Array.from({ length: 1000 }, (_, i) =>
      envelope({ type: 'create', id: `id-${i}`, title: `todo ${i}` }),
    ),
  },
]);

const sizes = { create: { v1: 0, v2: 0, pages: 0 }, toggle: { v1: 0, v2: 0, pages: 0 } };
for (let i = 0; i < MUTATIONS; i++) {
  const kind = i % 2 === 0 ? 'create' : 'toggle';
  const body =
    kind === 'create'
      ? { type: 'create', id: `new-${i}`, title: `a new todo ${i}` }
      : { type: 'toggle', id: `id-${(i * 7) % 1000}` };
  const { frameLsn } = await authority.push([{ timelineId: 'bench', mutations: [envelope(body)] }]);
  const since = authority.framesSince(frameLsn ?? 0);
  const kept = since.status === 'frames' ? since.frames[0] : undefined;
  if (kept === undefined) throw new Error(`mutation ${i} made no frame`);
  const v1 = { type: 'frames', frames: [kept.frame], more: false } as unknown as ServerMessage;
  sizes[kind].v1 += encodeMessage(v1).length;
  sizes[kind].v2 += encodeMessage({ type: 'frames', frames: [kept.wire], more: false }).length;
  sizes[kind].pages += kept.frame.pages.length;
}
await authority.close();

for (const [kind, size] of Object.entries(sizes)) {
  const count = MUTATIONS / 2;
  const pages = `${(size.pages / count).toFixed(1)} pages per frame, ${count} mutations over 1000 todos`;
  report(`wire: bytes per small ${kind}, v1 (raw pages)`, size.v1 / count, 'B', pages);
  report(`wire: bytes per small ${kind}, v2 (page deltas)`, size.v2 / count, 'B', pages);
}
