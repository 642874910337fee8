// Opening a local document: a replica in memory, brought to its reducer's schema version before
// anything else can touch it. Hosts add where the reducer's bytes come from (a file, a URL; load-reducer.ts)
// and the schema lifecycle (`@tandem/migrations`' schemaLifecycle), which sits above the runtime.
// A persisted document's overlay of pending mutations is installed from its cache when it was made from
// this reducer, this base and these mutations (runtime storage/overlay-cache.ts); otherwise the pending
// mutations are reduced again, as they always may be.
//
// Invariant (with storage/schema-mark.ts invariants 4, 5): when the document's files mark version N, a
// whole reducer of version N or newer is kept beside the mark or the mark was raised by the app's own
// reducer, whatever write a crash interrupted. So an offline reopen with an app still shipping an older
// reducer opens on the kept one (or on the app's under the older mark the crash left), never refused
// for want of one. Every raise holds to it: a move (`markSchema`) keeps the reducer it moves to, also
// at the marked version when it is another reducer than the one that last ran; an open on a reducer
// that is not the app's keeps it when it raises the mark: an orphan a crash left newer than the mark,
// or the coordinator's current reducer a host opens with after the app's was refused (`keepReducer`),
// which is kept also at the marked version when the copy there is not that reducer, whole. And the mark
// never stands above what the document runs after a move that did not hold (a failed `migrate`, a
// refused frame): it goes back to the version the document stayed on (`unmarkSchema`), with that
// reducer kept unless it is the app's, so the next offline open runs what ran before, never the failed
// move's reducer whose `migrate` would fail again and refuse the open. A crash before that, or a
// session that ended between a raise and its move, leaves a mark that records the move: the open lowers
// it when nothing durable depends on the move's reducer (storage/schema-mark.ts invariant 6), and runs
// the reducer the mark names, never an orphan a crash left newer than it (invariant 5).

import { readAppliedLsn, readAppliedLsnAtOpen, readRejections } from './applied-marker.js';
import type { MigrationReport } from './document-parts.js';
import { TandemError } from './errors.js';
import type { Frame } from './frame.js';
import { LocalDocument } from './local-document.js';
import { declaredSchemaVersion, loadPreparedReducer, type ReducerModule } from './reducer/host.js';
import { Replica } from './replica.js';
import type { ByteStore } from './storage/byte-store.js';
import { ClientBase } from './storage/client-base.js';
import { establishIdentity, writeReach } from './storage/client-identity.js';
import { DocumentJournal } from './storage/document-journal.js';
import { ListedByteStore } from './storage/listed-byte-store.js';
import { covers, OverlayCache, readOverlay } from './storage/overlay-cache.js';
import {
  holdSchemaMark,
  lowerSchemaMark,
  type MarkedReducer,
  raiseSchemaMark,
  readMarkedReducer,
  readSchemaMarkRecord,
  SCHEMA_MARK_UNWRITTEN,
  writeSchemaMark,
} from './storage/schema-mark.js';
import { auditTimeline, timelineLoss } from './storage/timeline-audit.js';
import { newTimelineSecret } from './storage/timeline-secret.js';

/**
 * The schema lifecycle a document opens under: `@tandem/migrations`' schemaLifecycle, handed in by the
 * host because migrations sits above the runtime (DESIGN.md §2).
 */
export interface SchemaLifecycle {
  /**
   * Refuses (`reducer-too-old`) a reducer older than the document, before anything is written; `marked`
   * is the version the document's files record (storage/schema-mark.ts).
   */
  refuseOlderReducer(replica: Replica, docId: string, marked: number): void;
  /** Brings the database to the reducer's schema version (its `migrate`, in one transaction). */
  ensureSchema(replica: Replica): MigrationReport;
  /** The schema version the database's pages are at (0 before any `migrate` recorded one). */
  readSchemaVersion(replica: Replica): number;
}

export interface LocalDocumentOptions {
  readonly docId: string;
  readonly reducer: ReducerModule;
  /**
   * `reducer` is not the app's own but the coordinator's current one, which a host opens with once the
   * app's was refused as older than the files (`reducer-too-old`): it is kept beside the schema mark as
   * a move's is (the invariant above), so the next open without the coordinator runs it too.
   */
  readonly keepReducer?: boolean;
  readonly schema: SchemaLifecycle;
  /**
   * This replica's timeline; a document reopened from `storage` keeps the one it recorded (established
   * from the copies it keeps, runtime/src/storage/client-identity.ts). Opening refuses with
   * `identity-lost` when those copies disagree (of the id or of the timeline secret, or when every copy
   * of the secret is unreadable), and with `timeline-damaged` (how many, which lsns) when the timeline
   * lost mutations it had recorded: it never pushes twice nor drops them silently.
   */
  readonly timelineId: string;
  /** Where the document persists (timeline, frames, checkpoints); in memory only without one. */
  readonly storage?: ByteStore;
  /** Releases `storage` (its files) once the document has closed or failed to open. */
  readonly closeStorage?: () => Promise<void>;
  /** Called after each commit that changed pages, with the frame it produced. */
  readonly onFrame?: (frame: Frame) => void;
  /** Receives the reducer's `log` calls. */
  readonly onLog?: (level: string, message: string) => void;
}

export async function openLocalDocument(options: LocalDocumentOptions): Promise<LocalDocument> {
  const { closeStorage, schema } = options;
  // Each file is read once while opening, and as the store gives it (a timeline is megabytes): the
  // journal takes the timeline the audit read and checked, instead of reading it again.
  // The parts below list the folder one after another; it is walked once (listed-byte-store.ts).
  const storage = options.storage && new ListedByteStore(options.storage);
  let replica: Replica | undefined;
  try {
    // Read before the journal recovers (recovery deletes what it cannot use): a refusal below must
    // leave the files as they were.
    const files = storage && (await storage.list());
    // The persisted overlay first: the timeline's records it covers are checked by its digest.
    const early = storage && files && (await readOverlay(storage, files));
    const audit = storage && files && (await auditTimeline(storage, files, early?.pending));
    const kept = storage && (await ClientBase.open(storage));
    const identity =
      storage &&
      (await establishIdentity(
        storage,
        {
          historyId: kept?.recovered.timelineId,
          historySecret: kept?.recovered.timelineSecret,
          timelineIds: audit?.timelineIds ?? new Set(),
        },
        options.timelineId,
      ));
    const timelineId = identity?.timelineId ?? options.timelineId;
    const timelineSecret = identity?.timelineSecret ?? newTimelineSecret();
    if (kept) {
      kept.base.timelineId = timelineId;
      kept.base.timelineSecret = timelineSecret;
    }
    // An upgrade may have moved the document past the app's reducer: the one it moved to, kept beside
    // the mark (runtime storage/schema-mark.ts invariant 4), opens it then.
    const mark = storage && files ? await readSchemaMarkRecord(storage, files) : undefined;
    // A mark that still records its move goes back to the reducer the move began from, unless the
    // base's pages show the move held (storage/schema-mark.ts invariant 6: checked below).
    let lowered = mark?.move?.from;
    let marked = lowered?.schemaVersion ?? mark?.schemaVersion ?? 0;
    let { reducer, keptDamaged, fromKept } =
      storage && files
        ? await reducerFor(options.reducer, storage, files, marked, lowered?.sha256 ?? mark?.sha256)
        : { reducer: options.reducer, keptDamaged: false, fromKept: false };
    const overlays =
      storage && files && new OverlayCache(storage, files, { timelineId, reducer: reducer.sha256 });
    // Installed before SQLite reads the store; checked against the timeline once it is read. Not while
    // the reducer may still change below: a reopen after such a crash reduces its pending mutations again.
    let restored =
      kept && overlays?.present && lowered === undefined
        ? await overlays.restore(kept.recovered.store, kept.recovered, early)
        : undefined;
    replica = await Replica.open({
      name: options.docId,
      reducer,
      ...(kept && { store: kept.recovered.store }),
      ...(options.onFrame && { onFrame: options.onFrame }),
      ...(options.onLog && { onLog: options.onLog }),
    });
    if (storage && files && mark && lowered && schema.readSchemaVersion(replica) > lowered.schemaVersion) {
      // The move's burst reached the base: it held, and the mark's reducer runs those pages.
      lowered = undefined;
      marked = mark.schemaVersion;
      ({ reducer, keptDamaged, fromKept } = await reducerFor(
        options.reducer,
        storage,
        files,
        marked,
        mark.sha256,
      ));
      replica.useReducer(reducer);
      overlays?.useReducer(reducer.sha256);
    }
    // Before anything is written (the identity's copies, the journal's recovery): a refusal leaves the files as they were.
    try {
      schema.refuseOlderReducer(replica, options.docId, marked);
    } catch (error) {
      throw keptDamaged ? damagedCopy(error) : error;
    }
    // Read once for the audit, the overlay's check and the document: only frames from the coordinator
    // change the marker (reducers cannot write it: applied-marker.ts invariant 2), and none arrive before
    // the document is open.
    const applied = readAppliedLsnAtOpen(replica, timelineId);
    const loss = audit && timelineLoss(audit, applied, identity?.reachedLsn ?? 0);
    if (loss !== undefined) {
      throw new TandemError(
        'timeline-damaged',
        `document ${options.docId}: its timeline lost ${loss.lost} mutation(s) it had recorded (lsns ${loss.fromLsn}..${loss.toLsn}), damaged or missing files`,
        { ...loss },
      );
    }
    // Only now that the document may open: a refusal above leaves the files as they were.
    await identity?.restore();
    // The timeline as the audit recovered it: nothing wrote to it since.
    const opened =
      storage &&
      (await DocumentJournal.open(storage, {
        ...(audit && { timeline: audit.recovered }),
        ...(audit?.pending && { pending: audit.pending }),
      }));
    if (restored !== undefined) {
      if (!(await covers(restored, applied, audit?.recovered))) {
        replica.discardOverlay();
        restored = undefined;
      }
    }
    const migration = restored?.header.migration ?? schema.ensureSchema(replica);
    // Before the document takes a mutation under this version (runtime storage/schema-mark.ts); with
    // the reducer that raises it unless it is the app's (the invariant above).
    const keep = fromKept || options.keepReducer === true ? markedReducer(reducer) : undefined;
    const rekeep =
      storage &&
      files &&
      keep &&
      !fromKept &&
      replica.reducerVersion === marked &&
      !(await keptAs(storage, files, marked, reducer.sha256));
    // A mark that recorded its move is written again as what the document runs: lowered, or held.
    if (storage && (replica.reducerVersion > marked || rekeep || mark?.move !== undefined)) {
      await writeSchemaMark(storage, { schemaVersion: replica.reducerVersion, sha256: reducer.sha256 }, keep);
    }
    marked = Math.max(marked, replica.reducerVersion);
    // The reducer the mark stands for: a move to another one of the marked version keeps that one.
    let markedBy = reducer.sha256;
    // The copy of the reducer a raise for a move kept, while that move may not hold (schema-mark.ts invariant 6).
    let moving: string | undefined;
    let marking: Promise<void> = Promise.resolve();
    // What `migrate` does over the current base: a persisted overlay records it (the base changes with
    // each rebase; undefined while it could not be brought to the schema, when nothing is saved).
    let baseMigration: MigrationReport | undefined = migration;
    storage?.stopKeeping();
    const migrated = replica;
    let openedAt: number | undefined = applied;
    return new LocalDocument({
      docId: options.docId,
      timelineId,
      timelineSecret,
      replica,
      migration,
      // The document's first read (as it opens) takes the open's; later ones ask the pages.
      readAppliedLsn: () => {
        const known = openedAt;
        openedAt = undefined;
        return known ?? readAppliedLsn(migrated, timelineId);
      },
      readRejections: (from, to) => readRejections(migrated, timelineId, from, to),
      prepareOverlay: () => {
        baseMigration = undefined;
        baseMigration = schema.ensureSchema(migrated);
      },
      ...(overlays && { reducerChanged: (reducer: ReducerModule) => overlays.useReducer(reducer.sha256) }),
      ...(storage && {
        // One raise at a time, each comparing against the mark the one before left (sync's readyUpgrade
        // and an app's upgradeReducer may overlap): two raises at once would pick the same generation
        // and append two records to one file, or a late lower one delete the higher mark.
        markSchema: (schemaVersion: number, module: ReducerModule) => {
          const raise = marking.then(async () => {
            if (schemaVersion < marked || (schemaVersion === marked && module.sha256 === markedBy)) return;
            const running = migrated.reducerModule;
            const from = { schemaVersion: declaredSchemaVersion(running), sha256: running.sha256 };
            try {
              moving = await raiseSchemaMark(storage, marked, schemaVersion, markedReducer(module), {
                move: { from },
              });
            } catch (error) {
              throw new TandemError(
                'storage-failed',
                `document ${options.docId} could not record its new schema version ${schemaVersion}`,
                { reason: SCHEMA_MARK_UNWRITTEN },
                { cause: error },
              );
            }
            marked = schemaVersion;
            markedBy = module.sha256;
          });
          marking = raise.catch(() => undefined);
          return raise;
        },
        holdSchema: (module: ReducerModule) => {
          const hold = marking.then(async () => {
            if (moving === undefined || module.sha256 !== markedBy) return;
            await holdSchemaMark(storage, marked, markedBy, moving);
            moving = undefined;
          });
          marking = hold.catch(() => undefined);
          return hold;
        },
        // After a move that did not hold (storage/schema-mark.ts invariant 2): the mark back to what
        // `module` runs, keeping it beside unless it is the app's, so the next offline open runs it.
        unmarkSchema: (module: ReducerModule) => {
          const lower = marking.then(async () => {
            const version = declaredSchemaVersion(module);
            if (marked < version || (marked === version && module.sha256 === markedBy)) return;
            const apps = module.sha256 === options.reducer.sha256 && options.keepReducer !== true;
            await lowerSchemaMark(storage, version, module.sha256, apps ? undefined : markedReducer(module));
            marked = version;
            markedBy = module.sha256;
            moving = undefined;
          });
          marking = lower.catch(() => undefined);
          return lower;
        },
      }),
      ...(overlays && {
        overlay: {
          keeper: {
            save: (source) =>
              baseMigration === undefined
                ? Promise.resolve()
                : overlays.save({ ...source, migration: baseMigration }),
            clear: () => overlays.clear(),
          },
          ...(restored && {
            restored: {
              throughLsn: restored.header.pending.fromLsn + restored.header.pending.count - 1,
              rejections: restored.header.rejections,
            },
          }),
        },
      }),
      ...(opened && { journal: opened.journal, pending: opened.recovered.pending }),
      ...(kept && {
        base: { keeper: kept.base, journalId: kept.recovered.journalId, cursor: kept.recovered.cursor },
      }),
      ...(storage && {
        recordReach: (nextLsn: number) => writeReach(storage, { timelineId, timelineSecret }, nextLsn),
      }),
      ...(closeStorage && { onClose: closeStorage }),
    });
  } catch (error) {
    storage?.stopKeeping();
    replica?.close();
    await closeStorage?.();
    throw error;
  }
}

/**
 * The reducer to open a document marked at `marked` with: the app's, unless it is older than the mark
 * and the reducer the document was moved to is kept whole beside it (its bytes hash to its SHA-256,
 * they load under the app's limits and declare a version at or above the mark): the one the mark names
 * (`markedBy`) when it is whole (storage/schema-mark.ts invariant 5). `keptDamaged`: a copy was there
 * but could not be used, which the refusal then says.
 */
async function reducerFor(
  app: ReducerModule,
  storage: ListedByteStore,
  files: readonly string[],
  marked: number,
  markedBy: string | undefined,
): Promise<{ readonly reducer: ReducerModule; readonly keptDamaged: boolean; readonly fromKept: boolean }> {
  const fromApp = { reducer: app, keptDamaged: false, fromKept: false };
  if (marked <= declaredSchemaVersion(app)) return fromApp;
  const kept = await readMarkedReducer(storage, files, marked, markedBy);
  if (kept === undefined) return fromApp;
  if (kept === 'damaged') return { ...fromApp, keptDamaged: true };
  try {
    const module = await loadPreparedReducer(kept.bytes, { limits: app.limits });
    if (module.sha256 === kept.sha256 && declaredSchemaVersion(module) >= marked) {
      return { reducer: module, keptDamaged: false, fromKept: true };
    }
  } catch {
    // Not loadable here (another meter version or other limits): as if none were kept.
  }
  return { ...fromApp, keptDamaged: true };
}

/** Whether the reducer kept beside the mark of `marked` is whole and hashes to `sha256`. */
async function keptAs(
  storage: ListedByteStore,
  files: readonly string[],
  marked: number,
  sha256: string,
): Promise<boolean> {
  const kept = await readMarkedReducer(storage, files, marked);
  return kept !== undefined && kept !== 'damaged' && kept.sha256 === sha256;
}

/** `module` as kept beside the mark it raises. */
function markedReducer(module: ReducerModule): MarkedReducer {
  return { sha256: module.sha256, schemaVersion: declaredSchemaVersion(module), bytes: module.source };
}

/** A `reducer-too-old` refusal that says the reducer kept beside the mark could not be used. */
function damagedCopy(error: unknown): unknown {
  if (!(error instanceof TandemError) || error.kind !== 'reducer-too-old') return error;
  return new TandemError(
    'reducer-too-old',
    `${error.message} (the reducer this document was upgraded to, kept beside it, is damaged or cannot be loaded here, and was not run)`,
    error.fields,
    { cause: error },
  );
}
