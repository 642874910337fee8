// Either side of "where is the document now?": the client asks (`ask-head`), the coordinator answers
// (`head`) with the lsn its journal's next frame will carry once the frames before it were sent on this
// connection, so a client holding frames up to `head` holds at least what the coordinator held when it
// asked (SyncClient `askHead`, LocalDocument `caughtUp`).
import { type Static, Type } from '@sinclair/typebox';
import { Id, Lsn } from './common.js';

const AskId = Type.Integer({ minimum: 0, maximum: 2 ** 31 });

/** client → coordinator. */
export const AskHead = Type.Object(
  { type: Type.Literal('ask-head'), id: AskId },
  { additionalProperties: false },
);
export type AskHead = Static<typeof AskHead>;

/** coordinator → client: the answer to the `ask-head` of the same id. */
export const Head = Type.Object(
  {
    type: Type.Literal('head'),
    id: AskId,
    /** The history `head` counts in (as in `welcome`). */
    journalId: Id,
    /** The lsn of the document's next frame: every frame below it was sent before this answer. */
    head: Lsn,
  },
  { additionalProperties: false },
);
export type Head = Static<typeof Head>;
