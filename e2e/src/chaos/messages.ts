// What the chaos test and its child processes tell each other over the IPC channel of `fork`.

/** A client's mutations: creates of ids no one else uses, and toggles of todos it created itself. */
export type MutationKind = 'create' | 'toggle';

export type ClientRequest =
  | { readonly type: 'stop' }
  /** `pageHash` costs a hash of the whole database: asked for only once the run settles. */
  | { readonly type: 'status'; readonly pageHash: boolean }
  /** One more create, awaited through to its fate: proves the client reaches the coordinator. */
  | { readonly type: 'probe'; readonly id: string; readonly timeoutMs: number }
  /** The fate of each of these lsns (every one this client's mutate resolved), and the todos. */
  | { readonly type: 'final'; readonly lsns: readonly number[]; readonly timeoutMs: number };

export interface ClientStatus {
  readonly syncState: string;
  readonly pendingCount: number;
  readonly syncError: string | null;
  readonly pageHash: string | null;
}

export interface Fate {
  readonly lsn: number;
  readonly status: 'confirmed' | 'rejected';
  readonly reason?: string;
}

export interface TodoRow {
  readonly id: string;
  readonly completed: number;
}

export type ClientReport =
  | {
      readonly type: 'opened';
      readonly timelineId: string;
      readonly replayed: number;
      readonly pending: number;
    }
  /** Sent before `mutate` is called: the mutation may reach the pages even if its process dies next. */
  | { readonly type: 'attempt'; readonly id: string; readonly kind: MutationKind }
  | {
      readonly type: 'resolved';
      readonly id: string;
      readonly kind: MutationKind;
      readonly lsn: number;
      readonly status: 'applied' | 'rejected';
      readonly reason?: string;
    }
  | { readonly type: 'fate'; readonly fate: Fate }
  | { readonly type: 'fate-failed'; readonly lsn: number; readonly error: string }
  | { readonly type: 'mutate-failed'; readonly id: string; readonly error: string }
  | { readonly type: 'stopped' }
  | ({ readonly type: 'status' } & ClientStatus)
  | { readonly type: 'probe'; readonly fate: Fate | null; readonly error?: string }
  | {
      readonly type: 'final';
      readonly fates: readonly Fate[];
      /** Lsns whose fate did not settle within the time asked (`error` if `fate` rejected). */
      readonly unsettled: readonly { readonly lsn: number; readonly error?: string }[];
      readonly rows: readonly TodoRow[];
      readonly duplicates: number;
    }
  | { readonly type: 'crashed'; readonly error: string };

export type CoordinatorRequest = { readonly type: 'page-hash'; readonly docId: string };

export type CoordinatorReport =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'page-hash'; readonly hash: string | null; readonly error?: string }
  | { readonly type: 'start-failed'; readonly error: string }
  | { readonly type: 'crashed'; readonly error: string };

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const kind = (error as { kind?: unknown }).kind;
    return `${error.name}${typeof kind === 'string' ? ` (${kind})` : ''}: ${error.message}`;
  }
  return String(error);
}
