// Byte stores in memory: a plain one, and one that injects faults for crash tests.
//
// Both track, per file, what a crash would keep: the bytes made durable by `sync` and those appended
// since. `crashImage` builds the store a process would find after crashing now, under one of the
// outcomes the ByteStore contract allows (unsynced bytes lost or kept, deletes undone or not).
//
// The faulty store counts appends ("writes") and syncs from 1. At the chosen point it either fails that
// one operation (`fail`: it throws, the store goes on working) or stops (`stop`: it throws, and so does
// every later operation, as if the process had died there). With `tear`, the failing or stopping write
// leaves the first half of its bytes behind.
import { type ByteStore, checkFileName } from './byte-store.js';

interface MemoryFile {
  bytes: Uint8Array;
  length: number;
  /** Bytes that survive a crash. */
  durable: number;
  /** Whether the file survives a crash at all (it was synced since it was created). */
  durableExists: boolean;
}

export interface CrashOutcome {
  /** Unsynced appends survive (a process crash; the OS kept them) instead of being lost (power loss). */
  readonly keepUnsynced: boolean;
  /** Files deleted before the crash come back with their durable bytes. */
  readonly undoDeletes?: boolean;
}

export class MemoryByteStore implements ByteStore {
  protected readonly files = new Map<string, MemoryFile>();
  private readonly deleted = new Map<string, MemoryFile>();

  async list(): Promise<string[]> {
    this.beforeOperation('list');
    return [...this.files.keys()];
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    checkFileName(name);
    this.beforeOperation('read');
    const file = this.files.get(name);
    return file?.bytes.slice(0, file.length);
  }

  async append(name: string, bytes: Uint8Array): Promise<void> {
    checkFileName(name);
    const kept = this.beforeOperation('write', bytes.length);
    let file = this.files.get(name);
    if (file === undefined) {
      file = {
        bytes: new Uint8Array(Math.max(64, bytes.length)),
        length: 0,
        durable: 0,
        durableExists: false,
      };
      this.files.set(name, file);
    }
    const taken = bytes.subarray(0, kept);
    if (file.length + taken.length > file.bytes.length) {
      const grown = new Uint8Array(Math.max(file.length + taken.length, file.bytes.length * 2));
      grown.set(file.bytes.subarray(0, file.length));
      file.bytes = grown;
    }
    file.bytes.set(taken, file.length);
    file.length += taken.length;
    this.afterWrite(kept, bytes.length);
  }

  async sync(name: string): Promise<void> {
    checkFileName(name);
    this.beforeOperation('sync');
    const file = this.files.get(name);
    if (file === undefined) return;
    file.durable = file.length;
    file.durableExists = true;
    // The name now durably holds this file: a crash can no longer bring back one deleted before it.
    this.deleted.delete(name);
  }

  async delete(name: string): Promise<void> {
    checkFileName(name);
    this.beforeOperation('delete');
    const file = this.files.get(name);
    if (file === undefined) return;
    this.files.delete(name);
    if (file.durableExists) this.deleted.set(name, file);
  }

  /** Total bytes held, over all files. */
  get size(): number {
    let total = 0;
    for (const file of this.files.values()) total += file.length;
    return total;
  }

  /** The store a process would find after crashing at this moment. */
  crashImage(outcome: CrashOutcome): MemoryByteStore {
    const image = new MemoryByteStore();
    const keep = (name: string, file: MemoryFile, length: number): void => {
      const bytes = file.bytes.slice(0, length);
      image.files.set(name, { bytes, length, durable: length, durableExists: true });
    };
    for (const [name, file] of this.files) {
      if (outcome.keepUnsynced) keep(name, file, file.length);
      else if (file.durableExists) keep(name, file, file.durable);
    }
    if (outcome.undoDeletes === true) {
      for (const [name, file] of this.deleted) if (!image.files.has(name)) keep(name, file, file.durable);
    }
    return image;
  }

  /** Called before every operation; returns how many bytes of a write to keep. */
  protected beforeOperation(_op: Operation, length = 0): number {
    return length;
  }

  /** Called after a write kept `kept` of its `length` bytes. */
  protected afterWrite(_kept: number, _length: number): void {}
}

export type Operation = 'list' | 'read' | 'write' | 'sync' | 'delete';

export interface Fault {
  /** `fail` throws at that one operation; `stop` throws there and at every operation after it. */
  readonly mode: 'fail' | 'stop';
  readonly at: 'write' | 'sync';
  /** 1 for the first write (or sync) the store sees. */
  readonly k: number;
  /** The faulty write leaves the first half of its bytes behind. */
  readonly tear?: boolean;
}

export class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
}

export class FaultyByteStore extends MemoryByteStore {
  readonly fault: Fault;
  writes = 0;
  syncs = 0;
  stopped = false;

  constructor(fault: Fault) {
    super();
    this.fault = fault;
  }

  /** A faulty store holding `image`'s files, synced, its counts starting from 0 (a crash sweep's start). */
  static async holding(image: MemoryByteStore, fault: Fault): Promise<FaultyByteStore> {
    const store = new FaultyByteStore(fault);
    store.writes = Number.MIN_SAFE_INTEGER;
    store.syncs = Number.MIN_SAFE_INTEGER;
    for (const file of await image.list()) {
      await store.append(file, (await image.read(file)) ?? new Uint8Array(0));
      await store.sync(file);
    }
    store.writes = 0;
    store.syncs = 0;
    return store;
  }

  protected override beforeOperation(op: Operation, length = 0): number {
    if (this.stopped) throw new InjectedFault('the store has stopped');
    if (op === 'write') this.writes++;
    if (op === 'sync') this.syncs++;
    const hit = op === this.fault.at && (op === 'write' ? this.writes : this.syncs) === this.fault.k;
    if (!hit) return length;
    if (this.fault.mode === 'stop') this.stopped = true;
    if (op === 'write' && this.fault.tear === true) return Math.floor(length / 2);
    throw new InjectedFault(`injected ${this.fault.mode} at ${op} ${this.fault.k}`);
  }

  protected override afterWrite(kept: number, length: number): void {
    if (kept < length) throw new InjectedFault(`injected ${this.fault.mode} at write ${this.fault.k} (torn)`);
  }
}
