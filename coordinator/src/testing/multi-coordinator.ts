// Small helpers of the tests that run several coordinator processes on one PostgreSQL.

/** The coordinator's `/health`, as a PostgreSQL store's coordinator answers it. */
export async function health(
  url: string,
): Promise<{ owner: string; owned: string[]; publicUrl: string | null }> {
  return (await (await fetch(`${url}/health`)).json()) as {
    owner: string;
    owned: string[];
    publicUrl: string | null;
  };
}

/** A counter's value in the coordinator's `/metrics` (0 when absent). */
export async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? 0);
}

/** `http://h:p` → `ws://h:p/sync`. */
export function syncUrl(url: string): string {
  return `${url.replace(/^http/, 'ws')}/sync`;
}

/** Every order of `items`. */
export function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}
