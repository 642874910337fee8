// coordinator → client, the answer to hello: the document's history and where this timeline stands.
import { type Static, Type } from '@sinclair/typebox';
import { Id, Lsn, LsnOrNone, Sha256 } from './common.js';

export const Welcome = Type.Object(
  {
    type: Type.Literal('welcome'),
    journalId: Id,
    /** The lsn the document's next frame will carry. */
    head: Lsn,
    /** The reducer the coordinator runs for this document. */
    reducerHash: Sha256,
    /** The last lsn of the client's timeline the coordinator has taken; -1 for none. */
    appliedLsn: LsnOrNone,
  },
  { additionalProperties: false },
);
export type Welcome = Static<typeof Welcome>;
