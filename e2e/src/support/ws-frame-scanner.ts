// Finds where WebSocket frames end in the bytes a server sends (RFC 6455 §5.2), after the HTTP upgrade
// response, so a proxy can cut a connection right after a whole message and not inside one. It reads
// headers only; payloads pass through untouched, in any chunking.

type State =
  | { readonly at: 'http'; tail: string }
  | { readonly at: 'header'; bytes: number[] }
  | { readonly at: 'payload'; remaining: number; readonly length: number };

export class WsFrameScanner {
  #state: State = { at: 'http', tail: '' };

  /** Reads `chunk`; returns the offsets in it just past each frame whose payload has `minPayload` bytes or more. */
  scan(chunk: Uint8Array, minPayload: number): number[] {
    const found: number[] = [];
    let i = 0;
    while (i < chunk.length) {
      const state = this.#state;
      if (state.at === 'http') {
        // The upgrade response ends with an empty line; keep the last 3 bytes in case it straddles chunks.
        const text = state.tail + Buffer.from(chunk.subarray(i)).toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) {
          state.tail = text.slice(-3);
          return found;
        }
        i += end + 4 - state.tail.length;
        this.#state = { at: 'header', bytes: [] };
      } else if (state.at === 'header') {
        state.bytes.push(chunk[i++]!);
        const length = headerLength(state.bytes);
        if (length === undefined || state.bytes.length < length.header) continue;
        this.#state = { at: 'payload', remaining: length.payload, length: length.payload };
        if (length.payload === 0) this.#state = { at: 'header', bytes: [] };
      } else {
        const take = Math.min(state.remaining, chunk.length - i);
        i += take;
        state.remaining -= take;
        if (state.remaining === 0) {
          if (state.length >= minPayload) found.push(i);
          this.#state = { at: 'header', bytes: [] };
        }
      }
    }
    return found;
  }
}

/** The header's size and the payload's, once enough of the header is known. */
function headerLength(bytes: readonly number[]): { header: number; payload: number } | undefined {
  if (bytes.length < 2) return undefined;
  const second = bytes[1]!;
  const mask = second & 0x80 ? 4 : 0;
  const short = second & 0x7f;
  const extended = short === 126 ? 2 : short === 127 ? 8 : 0;
  const header = 2 + extended + mask;
  if (bytes.length < 2 + extended) return undefined;
  let payload = short;
  if (extended > 0) {
    payload = 0;
    for (let k = 0; k < extended; k++) payload = payload * 256 + bytes[2 + k]!;
  }
  return { header, payload };
}
