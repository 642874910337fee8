// coordinator → client: what became of a push, once the frame holding it is durable.
import { type Static, Type } from '@sinclair/typebox';
import { Lsn, LsnOrNone } from './common.js';
import { MAX_PUSH_MUTATIONS, MAX_REASON_LENGTH } from './limits.js';

export const PushResult = Type.Object(
  {
    type: Type.Literal('push-result'),
    /** The timeline's marker after the push. */
    appliedLsn: LsnOrNone,
    /** The frame that holds the push's mutations; null when it took none. */
    frameLsn: Type.Union([Lsn, Type.Null()]),
    /** Rejected mutations with the reducer's reason (the others applied). */
    rejected: Type.Array(
      Type.Object(
        { lsn: Lsn, reason: Type.String({ maxLength: MAX_REASON_LENGTH }) },
        { additionalProperties: false },
      ),
      { maxItems: MAX_PUSH_MUTATIONS },
    ),
    /** Set when the push was refused whole (nothing taken). */
    refused: Type.Union([
      Type.Null(),
      Type.Object(
        {
          kind: Type.Union([Type.Literal('gap'), Type.Literal('invalid-mutation')]),
          message: Type.String({ maxLength: MAX_REASON_LENGTH }),
          expectedLsn: Type.Union([Lsn, Type.Null()]),
        },
        { additionalProperties: false },
      ),
    ]),
  },
  { additionalProperties: false },
);
export type PushResult = Static<typeof PushResult>;
