// coordinator → client: the document's pages as a compressed page image (storage/page-image.ts), sent
// instead of frames when the client's cursor is older than the frames the coordinator keeps, or its
// pages come from another history (journalId). Frames from `image.frameCount` on follow.
import { type Static, Type } from '@sinclair/typebox';
import { MAX_MESSAGE_BYTES } from './limits.js';

export const Snapshot = Type.Object(
  {
    type: Type.Literal('snapshot'),
    image: Type.Uint8Array({ minByteLength: 1, maxByteLength: MAX_MESSAGE_BYTES - 64 }),
  },
  { additionalProperties: false },
);
export type Snapshot = Static<typeof Snapshot>;
