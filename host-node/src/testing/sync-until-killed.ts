// The child of the FsByteStore crash test (`node run-ts.mjs sync-until-killed.ts <directory>`): appends
// records to a series of segment files without awaiting each append, syncs after every batch, and once
// a sync has resolved prints `synced <file> <records in the file>`, until it is killed.
import { encodeRecord, RecordType } from '@tandem/runtime';
import { FsByteStore } from '../fs-byte-store.js';
import { BATCH, crashPayload, SYNCS_PER_SEGMENT, segmentName } from './crash-segments.js';

const directory = process.argv[3];
if (directory === undefined) throw new Error('usage: node run-ts.mjs sync-until-killed.ts <directory>');
// Should the test die without killing it, stop anyway rather than fill the disk.
setTimeout(() => process.exit(2), 20_000).unref();
const store = await FsByteStore.open(directory);
let index = 0;
for (let segment = 0; ; segment++) {
  const name = segmentName(segment);
  for (let sync = 1; sync <= SYNCS_PER_SEGMENT; sync++) {
    const appends: Promise<void>[] = [];
    for (let i = 0; i < BATCH; i++) {
      appends.push(store.append(name, encodeRecord(RecordType.frame, crashPayload(index++))));
    }
    await Promise.all([...appends, store.sync(name)]);
    process.stdout.write(`synced ${name} ${sync * BATCH}\n`);
  }
}
