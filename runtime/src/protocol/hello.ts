// client → coordinator, first message of a connection: who is asking for which document, and what it has.
import { type Static, Type } from '@sinclair/typebox';
import { Id, Lsn, Sha256 } from './common.js';
import { TIMELINE_SECRET_PATTERN } from './limits.js';

export const Hello = Type.Object(
  {
    type: Type.Literal('hello'),
    protocolVersion: Type.Integer({ minimum: 0 }),
    docId: Id,
    timelineId: Id,
    /**
     * Proves the timeline is this client's: the coordinator binds a timeline to the SHA-256 of the
     * first secret that writes on it and refuses any other (`timeline-taken`).
     */
    timelineSecret: Type.String({ pattern: TIMELINE_SECRET_PATTERN }),
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
