// TandemErrors keep their `kind` and fields across the worker boundary. comlink sends a thrown Error as
// its message, name and stack only, so its `throw` handler is wrapped (both sides import this module):
// a TandemError travels as { kind, message, fields } and is thrown again as a TandemError. A TandemError
// passed as an argument (a subscription's error) travels the same way through the `tandem-error` handler.
import { TandemError, type TandemErrorFields, type TandemErrorKind } from '@tandem/runtime/errors';
import { type TransferHandler, transferHandlers } from 'comlink';

export interface WireError {
  readonly kind: TandemErrorKind;
  readonly message: string;
  readonly fields: TandemErrorFields;
}

export function toWireError(error: TandemError): WireError {
  return { kind: error.kind, message: error.message, fields: { ...error.fields } };
}

export function fromWireError(wire: WireError): TandemError {
  return new TandemError(wire.kind, wire.message, wire.fields);
}

/** Any failure as a TandemError-like record for a plain message (the owner's open). */
export function describeError(error: unknown): WireError | { readonly message: string } {
  if (error instanceof TandemError) return toWireError(error);
  return { message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
}

export function reviveError(described: WireError | { readonly message: string }): Error {
  return 'kind' in described ? fromWireError(described) : new Error(described.message);
}

interface Thrown {
  readonly value: unknown;
}
type SerializedThrow = { readonly tandem: WireError } | { readonly other: unknown };

const WRAPPED = Symbol.for('tandem.wire-errors');

function installErrorHandlers(): void {
  const original = transferHandlers.get('throw') as TransferHandler<Thrown, unknown> | undefined;
  if (original === undefined || WRAPPED in original) return;
  const wrapped: TransferHandler<Thrown, SerializedThrow> & { [WRAPPED]: true } = {
    [WRAPPED]: true,
    canHandle: (value): value is Thrown => original.canHandle(value),
    serialize(thrown) {
      if (thrown.value instanceof TandemError) return [{ tandem: toWireError(thrown.value) }, []];
      const [other, transfers] = original.serialize(thrown);
      return [{ other }, transfers];
    },
    deserialize(serialized) {
      if ('tandem' in serialized) throw fromWireError(serialized.tandem);
      return original.deserialize(serialized.other);
    },
  };
  transferHandlers.set('throw', wrapped as TransferHandler<unknown, unknown>);
  const argument: TransferHandler<TandemError, WireError> = {
    canHandle: (value): value is TandemError => value instanceof TandemError,
    serialize: (error) => [toWireError(error), []],
    deserialize: fromWireError,
  };
  transferHandlers.set('tandem-error', argument as TransferHandler<unknown, unknown>);
}

installErrorHandlers();
