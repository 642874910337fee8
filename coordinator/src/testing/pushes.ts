// What the coordinator tests send and ask over HTTP, written once: pushes of todo mutations, and a
// coordinator's /health and /metrics as numbers.
import type { Push } from '@tandem/runtime';

/** A push of `count` mutations from lsn `from`, each one's payload the JSON of `body(lsn)`. */
export function pushOf(from: number, count: number, body: (lsn: number) => object): Push {
  return {
    type: 'push',
    mutations: Array.from({ length: count }, (_, i) => ({
      lsn: from + i,
      timestamp: 1_700_000_000_000 + from + i,
      payload: new TextEncoder().encode(JSON.stringify(body(from + i))),
    })),
  };
}

/** A push creating the todos `<prefix><lsn>` (the todo reducer's `create`), each titled `title`. */
export function createTodos(from: number, count: number, prefix = 't', title = 'x'): Push {
  return pushOf(from, count, (lsn) => ({ type: 'create', id: `${prefix}${lsn}`, title }));
}

/** The documents the coordinator at `url` owns (`GET /health`, PostgreSQL store). */
export async function ownedBy(url: string): Promise<string[]> {
  return ((await (await fetch(`${url}/health`)).json()) as { owned: string[] }).owned;
}

/** A counter of the coordinator's `/metrics` (without labels); 0 when it has not been counted yet. */
export async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? 0);
}
