// coordinator → client: frames in lsn order; `more` says another frames message follows at once (the
// client rebases once per burst, after the last).
import { type Static, Type } from '@sinclair/typebox';
import { WireFrame } from './common.js';
import { MAX_FRAMES_PER_MESSAGE } from './limits.js';

export const Frames = Type.Object(
  {
    type: Type.Literal('frames'),
    frames: Type.Array(WireFrame, { minItems: 1, maxItems: MAX_FRAMES_PER_MESSAGE }),
    more: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type Frames = Static<typeof Frames>;
