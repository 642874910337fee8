// The wire format's version. Bump it (and add a line) whenever a message schema or the encoding changes;
// protocol-version.test.ts fails until you do.
//   1: hello, welcome, push, push-result, frames (raw pages), snapshot (page image), error, ping, pong; msgpack.
//   2: a frame's pages travel as deltas (deflate-raw of the page XOR the receiver's previous version).
//   3: hello carries the client's `timelineSecret` (the coordinator binds each timeline to the first
//      one that writes on it); error kinds `timeline-taken` and `document-unavailable`; ids are
//      well-formed UTF-16 and a push's fields keep to the mutation domain (protocol/mutation-bounds.ts:
//      timestamps 0..2^53-1).
//   4: messages travel positionally (`[tag, fields…]`, protocol/codec.ts), and a page delta is a tagged
//      choice of XOR runs, deflated XOR runs, or the page deflated against its previous version as a
//      dictionary (protocol/page-delta.ts): a lone small mutation costs ≤ 300 B each way. Pages too:
//      SQLite's PRNG is reseeded at a mutation's first draw (entropy scheme v2, vfs/capture-vfs.ts
//      invariant 6; v1 reseeded every mutation by drawing a byte, so its SQL random(), randomblob() and
//      random rowids came one byte further on) and page 1 stores its change counter and version-valid-for
//      as 1 (invariant 3): a v3 host writes other pages for the same mutations.
//   5: `ask-head` (client) and its answer `head` {id, journalId, head}: where the coordinator's journal
//      stands, once the frames below it were sent, so a client can wait until it holds what the
//      coordinator held when it asked (`caughtUp()`). A v4 client never asks, and is still served.
//   6: `redirect` {url, message} (coordinator): the document is owned by another coordinator sharing
//      the store; the client connects to `url` (coordinator/README.md, several coordinators). Sent only
//      to a v6 hello: a v5 client is still told `document-unavailable` with a retry time, as before.
export const PROTOCOL_VERSION = 6;
/** The oldest client version a coordinator still serves: a v3 client reads neither v4 messages nor deltas. */
export const MIN_PROTOCOL_VERSION = 4;
