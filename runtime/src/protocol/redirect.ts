// coordinator → client (v6), the answer to a hello for a document another coordinator owns: connect
// there. Coordinators sharing a store redirect rather than proxy (coordinator/README.md): the owner
// stays the only one writing the document, at the cost of one round trip per move.
import { type Static, Type } from '@sinclair/typebox';
import { MAX_REASON_LENGTH, MAX_URL_LENGTH } from './limits.js';

export const Redirect = Type.Object(
  {
    type: Type.Literal('redirect'),
    /** The owner's sync endpoint, e.g. `ws://10.0.0.2:8787/sync`. */
    url: Type.String({ maxLength: MAX_URL_LENGTH, pattern: '^wss?://[^\\s]+$' }),
    /** Why, for logs. */
    message: Type.String({ maxLength: MAX_REASON_LENGTH }),
  },
  { additionalProperties: false },
);
export type Redirect = Static<typeof Redirect>;
