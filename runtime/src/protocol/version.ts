// The wire format's version. Bump it (and add a line) whenever a message schema or the encoding changes;
// protocol-version.test.ts fails until you do.
//   1: hello, welcome, push, push-result, frames (raw pages), snapshot (page image), error, ping, pong; msgpack.
//   2: a frame's pages travel as deltas (deflate-raw of the page XOR the receiver's previous version).
//   3: hello carries the client's `timelineSecret` (the coordinator binds each timeline to the first
//      one that writes on it); error kinds `timeline-taken` and `document-unavailable`; ids are
//      well-formed UTF-16 and a push's fields keep to the mutation domain (protocol/mutation-bounds.ts:
//      timestamps 0..2^53-1).
export const PROTOCOL_VERSION = 3;
/** The oldest client version a coordinator still serves: a v2 hello has no timeline secret. */
export const MIN_PROTOCOL_VERSION = 3;
