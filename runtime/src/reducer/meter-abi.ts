// What a metered core module and the host that runs it agree on (meter.ts writes it, host.ts binds it).
// Kept apart from the instrumenter so that a host running prepared reducers never imports binaryen.

/**
 * Bump when the instrumentation changes. A prepared reducer records the version that metered it, and a
 * host of another version refuses it (`meter-mismatch`): both would otherwise run different code under
 * the same identity.
 */
export const METER_VERSION = 3;
/** The module of the fuel global a metered module imports (an i64 the host sets before each call). */
export const METER_MODULE = 'tandem:meter';
export const FUEL_IMPORT = 'fuel';
/** i32 globals a metered module exports: 1 once the guest trapped on its memory or stack limit. */
export const MEMORY_EXCEEDED_EXPORT = 'tandem_memory_exceeded';
export const STACK_EXCEEDED_EXPORT = 'tandem_stack_exceeded';
