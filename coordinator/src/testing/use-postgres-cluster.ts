// One private PostgreSQL cluster per test file: started before its tests, destroyed after them (also
// when a test failed). Apart from postgres-cluster.ts so the bench can start clusters without vitest.
import { afterAll, beforeAll } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from './postgres-cluster.js';

/** Registers the file's cluster; the returned function gives it from the tests on. */
export function usePostgresCluster(): () => PostgresCluster {
  let cluster: PostgresCluster | undefined;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.destroy();
  });
  return () => {
    if (cluster === undefined) throw new Error('the PostgreSQL cluster is read before its beforeAll ran');
    return cluster;
  };
}
