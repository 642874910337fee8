// Building blocks shared by the message schemas.
import { type Static, Type } from '@sinclair/typebox';
import { MAX_DELTA_BYTES, MAX_ID_LENGTH, MAX_PAGES_PER_FRAME } from './limits.js';

/**
 * Well-formed UTF-16 (no lone surrogate): ids are stored as UTF-8 (applied markers, folder names), where
 * two ids differing only in lone surrogates would become the same id.
 */
const WELL_FORMED = '^(?:[^\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$';
export const Id = Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, pattern: WELL_FORMED });
export const Lsn = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** An lsn or -1 (nothing yet). */
export const LsnOrNone = Type.Integer({ minimum: -1, maximum: Number.MAX_SAFE_INTEGER });
export const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });

/** A frame as it travels: each page as a delta against the receiver's previous version (page-delta.ts). */
export const WireFrame = Type.Object(
  {
    lsn: Lsn,
    pageCount: Type.Integer({ minimum: 0, maximum: 2 ** 31 }),
    pages: Type.Array(
      Type.Object(
        {
          pgno: Type.Integer({ minimum: 1, maximum: 2 ** 31 }),
          delta: Type.Uint8Array({ minByteLength: 1, maxByteLength: MAX_DELTA_BYTES }),
        },
        { additionalProperties: false },
      ),
      { maxItems: MAX_PAGES_PER_FRAME },
    ),
  },
  { additionalProperties: false },
);
export type WireFrame = Static<typeof WireFrame>;
