// Building blocks shared by the message schemas.
import { Type } from '@sinclair/typebox';
import { PAGE_SIZE } from '../vfs/page-store.js';
import { MAX_ID_LENGTH, MAX_PAGES_PER_FRAME } from './limits.js';

export const Id = Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH });
export const Lsn = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** An lsn or -1 (nothing yet). */
export const LsnOrNone = Type.Integer({ minimum: -1, maximum: Number.MAX_SAFE_INTEGER });
export const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });

export const WireFrame = Type.Object(
  {
    lsn: Lsn,
    pageCount: Type.Integer({ minimum: 0, maximum: 2 ** 31 }),
    pages: Type.Array(
      Type.Object(
        {
          pgno: Type.Integer({ minimum: 1, maximum: 2 ** 31 }),
          data: Type.Uint8Array({ minByteLength: PAGE_SIZE, maxByteLength: PAGE_SIZE }),
        },
        { additionalProperties: false },
      ),
      { maxItems: MAX_PAGES_PER_FRAME },
    ),
  },
  { additionalProperties: false },
);
