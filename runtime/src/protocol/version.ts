// The wire format's version. Bump it (and add a line) whenever a message schema or the encoding changes;
// protocol-version.test.ts fails until you do.
//   1: hello, welcome, push, push-result, frames (raw pages), snapshot (page image), error, ping, pong; msgpack.
//   2: a frame's pages travel as deltas (deflate-raw of the page XOR the receiver's previous version).
export const PROTOCOL_VERSION = 2;
/** The oldest client version a coordinator still serves. */
export const MIN_PROTOCOL_VERSION = 2;
