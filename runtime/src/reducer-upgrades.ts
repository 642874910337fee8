// The moves of one document to the coordinator's newer reducer (local-document.ts invariant 11), for
// the app: the last one, and the listeners that hear each one once.
import type { ReducerIdentity } from './sync/negotiation.js';

/** A document moved to the coordinator's newer reducer: the one it ran, and the one it runs now. */
export interface ReducerUpgrade {
  readonly from: ReducerIdentity;
  readonly to: ReducerIdentity;
}

export class ReducerUpgrades {
  #last: ReducerUpgrade | undefined;
  readonly #listeners = new Set<(upgrade: ReducerUpgrade) => void>();

  /** The last upgrade since the document opened. */
  get last(): ReducerUpgrade | undefined {
    return this.#last;
  }

  listen(listener: (upgrade: ReducerUpgrade) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** The document moved: every listener hears it; one that throws neither stops the others nor vanishes. */
  moved(upgrade: ReducerUpgrade): void {
    this.#last = upgrade;
    for (const listener of [...this.#listeners]) {
      try {
        listener(upgrade);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
