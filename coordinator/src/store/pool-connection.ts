// One connection of a node-postgres pool, held for a transaction or a session lock.
//
// Invariant: while it is held, the connection's 'error' event has a listener. The pool listens to its
// idle connections only; one it has handed out is on its own, and PostgreSQL ending it between two
// statements (pg_terminate_backend, a fast shutdown, an idle-session timeout: the FATAL message is read
// with no statement in flight, often in the same packet as the last statement's answer) would throw
// that event out of the thread, ending every document it serves. Here the error is kept: the next
// statement on the connection fails instead, and the connection is closed, never given back.
import type pg from 'pg';

/**
 * Runs `use` on a connection of its own; the connection is given back after, or closed when `use`
 * failed or the connection broke meanwhile (a statement that timed out may still run on it).
 */
export async function withConnection<T>(
  pool: pg.Pool,
  use: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let broken: Error | undefined;
  const keep = (error: Error): void => {
    broken ??= error;
  };
  // The callback, not the promise: the listener is on before the packet that brought the connection's
  // first ReadyForQuery is read further (a FATAL may follow in it); a promise would resolve after.
  const client = await new Promise<pg.PoolClient>((resolve, reject) => {
    pool.connect((error, connected) => {
      if (connected === undefined) return reject(error ?? new Error('no connection'));
      connected.on('error', keep);
      resolve(connected);
    });
  });
  try {
    const result = await use(client);
    client.removeListener('error', keep);
    client.release(broken);
    return result;
  } catch (error) {
    client.removeListener('error', keep);
    client.release(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}
