// client → coordinator: consecutive mutations of the connection's timeline.
import { type Static, Type } from '@sinclair/typebox';
import { PushMutations } from './mutation-bounds.js';

export const Push = Type.Object(
  {
    type: Type.Literal('push'),
    /** Each within the domain of mutation-bounds.ts. */
    mutations: PushMutations,
  },
  { additionalProperties: false },
);
export type Push = Static<typeof Push>;
