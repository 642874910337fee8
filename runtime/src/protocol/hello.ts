// client → coordinator, first message of a connection: who is asking for which document, and what it has.
import { type Static, Type } from '@sinclair/typebox';
import { Id, Lsn, Sha256 } from './common.js';

export const Hello = Type.Object(
  {
    type: Type.Literal('hello'),
    protocolVersion: Type.Integer({ minimum: 0 }),
    docId: Id,
    timelineId: Id,
    /** The coordinator history the client's pages come from; null for a client with none. */
    journalId: Type.Union([Id, Type.Null()]),
    /** The lsn of the next frame the client needs (0 for none yet). */
    cursor: Lsn,
    /** The client's reducer component. */
    reducerHash: Sha256,
    token: Type.Union([Type.String({ maxLength: 4096 }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type Hello = Static<typeof Hello>;
