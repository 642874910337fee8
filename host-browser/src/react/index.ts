// React bindings for a TandemDocument opened in the tab (`openDocument`): a provider, and hooks that
// re-render only when what they show changed — `useQuery` keeps the same rows array until the rows differ,
// `useSyncState` the same object until the status changes.
import type {
  ArrayQueryOptions,
  ArrayRows,
  MutationResult,
  QueryOptions,
  Rejection,
  Row,
} from '@tandem/runtime';
import { TandemError } from '@tandem/runtime/errors';
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useMemo,
  useSyncExternalStore,
} from 'react';
import type { DocumentStatus, QueryParams, TandemDocument } from '../tab-api.js';
import { sameResult, valuesKey } from '../values-key.js';

const DocumentContext = createContext<TandemDocument | undefined>(undefined);

export interface TandemProviderProps {
  readonly document: TandemDocument;
  readonly children?: ReactNode;
}

/** Makes `document` the one the hooks below it use. */
export function TandemProvider({ document, children }: TandemProviderProps): ReactNode {
  return createElement(DocumentContext.Provider, { value: document }, children);
}

export function useDocument(): TandemDocument {
  const document = useContext(DocumentContext);
  if (document === undefined) {
    throw new TandemError(
      'invalid-argument',
      'the Tandem hooks need a <TandemProvider document={…}> above them',
    );
  }
  return document;
}

const NO_PARAMS: QueryParams = [];

/**
 * The rows of `sql`, kept current: undefined until the first answer, then a new array only when the rows
 * changed (so a component re-renders only then). A failing query throws its error during render.
 * `options` as `query` takes them: `{ rowMode: 'array' }` gives `{ columns, rows }`, `integers` how
 * INTEGER values come back.
 */
export function useQuery<T extends Row = Row>(
  sql: string,
  params?: QueryParams,
  options?: QueryOptions & { readonly rowMode?: 'object' },
): T[] | undefined;
export function useQuery(sql: string, params: QueryParams, options: ArrayQueryOptions): ArrayRows | undefined;
export function useQuery(
  sql: string,
  params: QueryParams = NO_PARAMS,
  options: QueryOptions = {},
): Row[] | ArrayRows | undefined {
  const document = useDocument();
  const { rowMode, integers } = options;
  const key = valuesKey([...params, rowMode ?? null, integers ?? null]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: parameters and options count by value (`key`), not by identity
  const store = useMemo(
    () =>
      new QueryStore(document, sql, params, { ...(rowMode && { rowMode }), ...(integers && { integers }) }),
    [document, sql, key],
  );
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  if (snapshot.error !== undefined) throw snapshot.error;
  return snapshot.rows;
}

/** `mutate` of the provided document, the same function across renders. */
export function useMutate(): (mutation: unknown) => Promise<MutationResult> {
  const document = useDocument();
  return useCallback((mutation: unknown) => document.mutate(mutation), [document]);
}

export type SyncStateView = DocumentStatus & { readonly lastRejection: Rejection | undefined };

/** The document's status (sync state, pending count, …) and its newest rejection, current. */
export function useSyncState(): SyncStateView {
  const document = useDocument();
  const subscribe = useCallback((onChange: () => void) => document.onStatus(onChange), [document]);
  const getStatus = useCallback(() => document.status, [document]);
  const status = useSyncExternalStore(subscribe, getStatus, getStatus);
  return useMemo(() => ({ ...status, lastRejection: status.rejections.at(-1) }), [status]);
}

interface QuerySnapshot {
  readonly rows: Row[] | ArrayRows | undefined;
  readonly error: unknown;
}

/** One query's rows for useSyncExternalStore: the snapshot changes only when the rows (or the error) do. */
class QueryStore {
  #snapshot: QuerySnapshot = { rows: undefined, error: undefined };

  constructor(
    private readonly document: TandemDocument,
    private readonly sql: string,
    private readonly params: QueryParams,
    private readonly options: QueryOptions,
  ) {}

  readonly subscribe = (onChange: () => void): (() => void) =>
    this.document.subscribe(
      this.sql,
      this.params,
      (rows: Row[] | ArrayRows) => {
        // A new subscription (a remount, StrictMode) hears the rows again: the same rows keep their array.
        const { rows: shown, error } = this.#snapshot;
        if (error === undefined && shown !== undefined && sameResult(rows, shown)) return;
        this.#snapshot = { rows, error: undefined };
        onChange();
      },
      {
        ...this.options,
        onError: (error) => {
          this.#snapshot = { rows: this.#snapshot.rows, error };
          onChange();
        },
      },
    );

  readonly getSnapshot = (): QuerySnapshot => this.#snapshot;
}
