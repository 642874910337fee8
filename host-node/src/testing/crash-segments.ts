// What the child of the FsByteStore crash test writes (`sync-until-killed.ts`), so the test can check
// what it reads back: records numbered over a series of segment files.

/** Records appended between two syncs. */
export const BATCH = 40;
/** Syncs before the child moves on to a new segment file. */
export const SYNCS_PER_SEGMENT = 8;

export function segmentName(segment: number): string {
  return `segment-${String(segment).padStart(4, '0')}.log`;
}

/** The payload of the record with this number: the number (u32 LE), then as many filler bytes as it says mod 64. */
export function crashPayload(index: number): Uint8Array {
  const payload = new Uint8Array(4 + (index % 64)).fill(index & 0xff);
  new DataView(payload.buffer).setUint32(0, index, true);
  return payload;
}
