// client → coordinator: consecutive mutations of the connection's timeline.
import { type Static, Type } from '@sinclair/typebox';
import { Lsn } from './common.js';
import { MAX_PAYLOAD_BYTES, MAX_PUSH_MUTATIONS } from './limits.js';

export const Push = Type.Object(
  {
    type: Type.Literal('push'),
    mutations: Type.Array(
      Type.Object(
        {
          lsn: Lsn,
          timestamp: Type.Integer({ minimum: -(2 ** 53) + 1, maximum: 2 ** 53 - 1 }),
          payload: Type.Uint8Array({ maxByteLength: MAX_PAYLOAD_BYTES }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_PUSH_MUTATIONS },
    ),
  },
  { additionalProperties: false },
);
export type Push = Static<typeof Push>;
