// The chaos run's faults, drawn from a seed: which fault, when, to whom, and for how long. The same
// seed gives the same schedule (the processes' timing, and so the exact interleaving, still varies).
import { SeededRandom } from '@tandem/runtime';

export type ChaosEvent =
  | { readonly at: number; readonly kind: 'kill-coordinator'; readonly downMs: number }
  | { readonly at: number; readonly kind: 'kill-client'; readonly client: number; readonly downMs: number }
  /** Cut the TCP connections of one client, or of every client (`client` null), with RST or FIN. */
  | { readonly at: number; readonly kind: 'drop'; readonly client: number | null; readonly reset: boolean };

export interface ScheduleOptions {
  readonly clients: number;
  /** Events happen between 1 s in and 1 s before the end. */
  readonly durationMs: number;
  /** At least 6: two of each kind, then any. */
  readonly events: number;
}

export function chaosSchedule(seed: bigint, options: ScheduleOptions): ChaosEvent[] {
  const random = new SeededRandom(seed);
  const pick = (n: number): number => Number(random.nextU64() % BigInt(n));
  const kinds: ChaosEvent['kind'][] = [
    'kill-coordinator',
    'kill-coordinator',
    'kill-client',
    'kill-client',
    'drop',
    'drop',
  ];
  const all: ChaosEvent['kind'][] = ['kill-coordinator', 'kill-client', 'kill-client', 'drop', 'drop'];
  while (kinds.length < options.events) kinds.push(all[pick(all.length)]!);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = pick(i + 1);
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  const span = options.durationMs - 2000;
  const times = kinds.map(() => 1000 + pick(span)).sort((a, b) => a - b);
  return kinds.map((kind, i): ChaosEvent => {
    const at = times[i]!;
    if (kind === 'kill-coordinator') return { at, kind, downMs: 100 + pick(900) };
    if (kind === 'kill-client') return { at, kind, client: pick(options.clients), downMs: 100 + pick(900) };
    return { at, kind, client: pick(4) === 0 ? null : pick(options.clients), reset: pick(2) === 0 };
  });
}

export function describeEvent(event: ChaosEvent): string {
  switch (event.kind) {
    case 'kill-coordinator':
      return `SIGKILL the coordinator, restart it after ${event.downMs} ms`;
    case 'kill-client':
      return `SIGKILL client ${event.client}, restart it after ${event.downMs} ms`;
    case 'drop':
      return `cut the connections of ${event.client === null ? 'every client' : `client ${event.client}`} (${event.reset ? 'RST' : 'FIN'})`;
  }
}
