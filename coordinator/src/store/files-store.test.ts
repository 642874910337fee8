import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStoreContract } from './coordinator-store.contract.js';
import { documentStores } from './coordinator-store.js';
import { fileReducerShelf } from './reducer-shelf.js';

describeStoreContract('files', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-store-'));
  return {
    stores: () => documentStores({ kind: 'files', dataDir }),
    reducers: fileReducerShelf(dataDir),
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
});
