// Either direction: a heartbeat; the peer answers with pong carrying the same id.
import { type Static, Type } from '@sinclair/typebox';

export const Ping = Type.Object(
  { type: Type.Literal('ping'), id: Type.Integer({ minimum: 0, maximum: 2 ** 31 }) },
  { additionalProperties: false },
);
export type Ping = Static<typeof Ping>;

export const Pong = Type.Object(
  { type: Type.Literal('pong'), id: Type.Integer({ minimum: 0, maximum: 2 ** 31 }) },
  { additionalProperties: false },
);
export type Pong = Static<typeof Pong>;
