// What a welcome's marker for this timeline (the last lsn the coordinator took of it) may say
// (sync-client.ts S5, S6): it is checked before anything of the welcome is taken.
//
// Invariants:
// W1. Below what the coordinator is known to have taken (the client's base, or an earlier answer): its
//     history lost writes it confirmed, and taking it would silently shorten ours → `history-reset`.
// W2. Above every lsn the document held when it opened and every lsn this client pushed: the
//     coordinator took lsns this client's timeline lost (a damaged file), so the lsns given out since the
//     open repeat them and would be skipped as duplicates yet reported confirmed → `timeline-damaged`.
import { SyncFailure } from './sync-failure.js';

/** Throws the SyncFailure W1 or W2 names for a welcome whose marker is `appliedLsn`. */
export function checkWelcomeMarker(appliedLsn: number, taken: number, known: number): void {
  if (appliedLsn < taken) {
    throw new SyncFailure(
      'history-reset',
      `the coordinator's history holds this timeline up to lsn ${appliedLsn}, but it had taken up to ${taken}: its history was reset`,
    );
  }
  if (appliedLsn > known) {
    throw new SyncFailure(
      'timeline-damaged',
      `the coordinator has taken this timeline up to lsn ${appliedLsn}, but this client's files held it only up to ${known}: records of its timeline were lost, and the mutations made since it opened reuse lsns the coordinator took`,
    );
  }
}
