// Bounds on what travels on the wire: every decoded message is checked against them before anything
// acts on it, so an oversized or hostile message costs a typed error, never an allocation.
import { PAGE_SIZE } from '../vfs/page-store.js';

export const MAX_ID_LENGTH = 256;
/** A timeline secret: 128 to 512 random bits as lowercase hex (storage/timeline-secret.ts makes them). */
export const TIMELINE_SECRET_PATTERN = '^[0-9a-f]{32,128}$';
export const MAX_PAYLOAD_BYTES = 1 << 20;
/** Mutations in one push. */
export const MAX_PUSH_MUTATIONS = 1000;
/** Pushes one connection may have awaiting their `push-result`; more is a `quota` error. */
export const MAX_PUSHES_IN_FLIGHT = 64;
/** Payload bytes one connection may have awaiting their `push-result`; more is a `quota` error. */
export const MAX_PUSH_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/** Frames in one `frames` message; a burst continues with `more`. */
export const MAX_FRAMES_PER_MESSAGE = 256;
/** Pages in one frame (a 256 MiB transaction). */
export const MAX_PAGES_PER_FRAME = 65_536;
/** One page delta (page-delta.ts): deflate stores an incompressible page in PAGE_SIZE + 5 bytes. */
export const MAX_DELTA_BYTES = PAGE_SIZE + 64;
/** A whole encoded message. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const MAX_REASON_LENGTH = 4096;
/** A coordinator's address in a redirect. */
export const MAX_URL_LENGTH = 2048;
