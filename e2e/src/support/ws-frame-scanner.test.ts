import { SeededRandom } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { WsFrameScanner } from './ws-frame-scanner.js';

const SEED = BigInt(process.env.FC_SEED ?? 6455);

/** An unmasked binary frame (as a server sends) with a payload of `length` bytes. */
function frame(length: number): Uint8Array {
  const header =
    length < 126
      ? [0x82, length]
      : length < 65536
        ? [0x82, 126, length >> 8, length & 0xff]
        : [
            0x82,
            127,
            0,
            0,
            0,
            0,
            (length >>> 24) & 0xff,
            (length >> 16) & 0xff,
            (length >> 8) & 0xff,
            length & 0xff,
          ];
  const bytes = new Uint8Array(header.length + length).fill(0x0d);
  bytes.set(header);
  return bytes;
}

test(`the scanner finds where each message of content ends, however the stream is chunked (seed ${SEED}; FC_SEED replays it)`, () => {
  const http = new TextEncoder().encode('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
  const lengths = [2, 10, 200, 125, 126, 70_000, 3, 65_535, 64];
  const parts = [http, ...lengths.map(frame)];
  const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  const ends: number[] = [];
  let offset = 0;
  for (const [i, part] of parts.entries()) {
    stream.set(part, offset);
    offset += part.length;
    if (i > 0 && lengths[i - 1]! >= 64) ends.push(offset);
  }
  const random = new SeededRandom(SEED);
  for (let run = 0; run < 50; run++) {
    const scanner = new WsFrameScanner();
    const found: number[] = [];
    for (let at = 0; at < stream.length; ) {
      const size = 1 + Number(random.nextU64() % BigInt(run % 2 === 0 ? 7 : 40_000));
      const chunk = stream.subarray(at, at + size);
      for (const end of scanner.scan(chunk, 64)) found.push(at + end);
      at += chunk.length;
    }
    expect(found, `run ${run}`).toEqual(ends);
  }
});
