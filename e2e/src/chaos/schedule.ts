// The chaos run's faults, drawn from a seed: which fault, when, to whom, and for how long. The same
// seed gives the same schedule (the processes' timing, and so the exact interleaving, still varies).
import { SeededRandom } from '@tandem/runtime';

export type ChaosEvent =
  | { readonly at: number; readonly kind: 'kill-coordinator'; readonly downMs: number }
  | { readonly at: number; readonly kind: 'kill-client'; readonly client: number; readonly downMs: number }
  /**
   * Cut the TCP connections of one client, or of every client (`client` null): at once with a RST or a
   * FIN, or right after the next message the coordinator sends it (`after-message`, a FIN).
   */
  | { readonly at: number; readonly kind: 'drop'; readonly client: number | null; readonly mode: DropMode };

export type DropMode = 'rst' | 'fin' | 'after-message';
const DROP_MODES: readonly DropMode[] = ['rst', 'fin', 'after-message', 'after-message'];

export interface ScheduleOptions {
  readonly clients: number;
  /** Events happen between 1 s in and 1 s before the end (kills in the first two thirds). */
  readonly durationMs: number;
  /** Kills, at least 4: two of each process kind, then any. */
  readonly kills: number;
  /** Mean time between connection cuts (they cost nothing to recover from, so there are many). */
  readonly dropEveryMs: number;
}

/**
 * Kills at random times, and connection cuts all along: half of them land right after a message from
 * the coordinator (frames being decoded and applied when the close arrives, the moment a close is
 * hardest to handle), and half of the cuts are followed by a second one of the same connections
 * 100–700 ms later, when the client is likely catching up.
 */
export function chaosSchedule(seed: bigint, options: ScheduleOptions): ChaosEvent[] {
  const random = new SeededRandom(seed);
  const pick = (n: number): number => Number(random.nextU64() % BigInt(n));
  const span = options.durationMs - 2000;
  const kinds: ('kill-coordinator' | 'kill-client')[] = [
    'kill-coordinator',
    'kill-coordinator',
    'kill-client',
    'kill-client',
  ];
  while (kinds.length < options.kills) kinds.push(pick(3) === 0 ? 'kill-coordinator' : 'kill-client');
  // Kills fall in the first two thirds, so that their restarts end within the run, not after it.
  const events: ChaosEvent[] = kinds.map((kind) => {
    const at = 1000 + pick(Math.round((span * 2) / 3));
    const downMs = 100 + pick(900);
    return kind === 'kill-coordinator'
      ? { at, kind, downMs }
      : { at, kind, client: pick(options.clients), downMs };
  });
  for (let at = 1000 + pick(options.dropEveryMs); at < 1000 + span; at += 1 + pick(2 * options.dropEveryMs)) {
    const client = pick(4) === 0 ? null : pick(options.clients);
    events.push({ at, kind: 'drop', client, mode: DROP_MODES[pick(DROP_MODES.length)]! });
    if (pick(2) === 0) {
      events.push({
        at: at + 100 + pick(600),
        kind: 'drop',
        client,
        mode: DROP_MODES[pick(DROP_MODES.length)]!,
      });
    }
  }
  return events.sort((a, b) => a.at - b.at);
}

export function describeEvent(event: ChaosEvent): string {
  switch (event.kind) {
    case 'kill-coordinator':
      return `SIGKILL the coordinator, restart it after ${event.downMs} ms`;
    case 'kill-client':
      return `SIGKILL client ${event.client}, restart it after ${event.downMs} ms`;
    case 'drop':
      return event.mode === 'after-message'
        ? `cut the connection of ${event.client === null ? 'every client' : `client ${event.client}`} after its next message`
        : `cut the connections of ${event.client === null ? 'every client' : `client ${event.client}`} (${event.mode.toUpperCase()})`;
  }
}
