import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PAGE_SIZE } from '../vfs/page-store.js';
import {
  type ClientMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeMessage,
  ProtocolError,
  type ServerMessage,
} from './codec.js';
import { MAX_DELTA_BYTES, MAX_MESSAGE_BYTES, MAX_PAYLOAD_BYTES } from './limits.js';

const SEED = Number(
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FC_SEED ?? 61,
);

const id = fc.string({ minLength: 1, maxLength: 40 });
const lsn = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const sha = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''));
const page = fc.record({
  pgno: fc.integer({ min: 1, max: 1000 }),
  delta: fc.uint8Array({ minLength: 1, maxLength: MAX_DELTA_BYTES }),
});

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record({
    type: fc.constant('hello' as const),
    protocolVersion: fc.nat(5),
    docId: id,
    timelineId: id,
    timelineSecret: fc.stringMatching(/^[0-9a-f]{32,128}$/),
    journalId: fc.option(id, { nil: null }),
    cursor: lsn,
    reducerHash: sha,
    token: fc.option(fc.string({ maxLength: 100 }), { nil: null }),
  }),
  fc.record({
    type: fc.constant('push' as const),
    mutations: fc.array(
      fc.record({ lsn, timestamp: fc.maxSafeNat(), payload: fc.uint8Array({ maxLength: 200 }) }),
      { minLength: 1, maxLength: 5 },
    ),
  }),
  fc.record({ type: fc.constant('ping' as const), id: fc.nat(1000) }),
  fc.record({ type: fc.constant('ask-head' as const), id: fc.nat(2 ** 31) }),
);

const serverMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({
    type: fc.constant('welcome' as const),
    journalId: id,
    head: lsn,
    reducerHash: sha,
    appliedLsn: fc.integer({ min: -1, max: 1e9 }),
  }),
  fc.record({
    type: fc.constant('push-result' as const),
    appliedLsn: fc.integer({ min: -1, max: 1e9 }),
    frameLsn: fc.option(lsn, { nil: null }),
    rejected: fc.array(fc.record({ lsn, reason: fc.string({ maxLength: 50 }) }), { maxLength: 3 }),
    refused: fc.option(
      fc.record({
        kind: fc.constantFrom('gap' as const, 'invalid-mutation' as const),
        message: fc.string({ maxLength: 50 }),
        expectedLsn: fc.option(lsn, { nil: null }),
      }),
      { nil: null },
    ),
  }),
  fc.record({
    type: fc.constant('frames' as const),
    frames: fc.array(
      fc.record({
        lsn,
        pageCount: fc.integer({ min: 0, max: 1000 }),
        pages: fc.array(page, { maxLength: 2 }),
      }),
      {
        minLength: 1,
        maxLength: 2,
      },
    ),
    more: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('error' as const),
    kind: fc.constantFrom('malformed' as const, 'quota' as const, 'internal' as const),
    message: fc.string({ maxLength: 50 }),
    retryAfterMs: fc.option(fc.nat(), { nil: null }),
  }),
  fc.record({ type: fc.constant('head' as const), id: fc.nat(2 ** 31), journalId: id, head: lsn }),
);

describe(`wire codec (seed ${SEED})`, () => {
  test('every client message decodes to itself', () => {
    fc.assert(
      fc.property(clientMessage, (m) => {
        expect(decodeClientMessage(encodeMessage(m))).toEqual(m);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  test('every server message decodes to itself, page bytes as raw binary', () => {
    fc.assert(
      fc.property(serverMessage, (m) => {
        const bytes = encodeMessage(m);
        if (m.type === 'frames') {
          const deltas = m.frames.reduce(
            (n, f) => n + f.pages.reduce((k, p) => k + p.delta.length + 40, 0),
            0,
          );
          expect(bytes.length).toBeLessThan(200 + deltas + m.frames.length * 40);
        }
        expect(decodeServerMessage(bytes)).toEqual(m);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  test('random bytes give a ProtocolError, never a crash or another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const decode of [decodeClientMessage, decodeServerMessage]) {
          try {
            decode(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError);
          }
        }
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  test('a message mutated anywhere is either still valid or a ProtocolError', () => {
    fc.assert(
      fc.property(clientMessage, fc.nat(), fc.integer({ min: 1, max: 255 }), (m, at, flip) => {
        const bytes = encodeMessage(m).slice();
        bytes[at % bytes.length] = bytes[at % bytes.length]! ^ flip;
        try {
          decodeClientMessage(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

const hello = {
  type: 'hello',
  protocolVersion: 1,
  docId: 'd',
  timelineId: 't',
  timelineSecret: 'a'.repeat(64),
  journalId: null,
  cursor: 0,
  reducerHash: '0'.repeat(64),
  token: null,
} as const;

test.each([
  ['an unknown type', { type: 'launch' }],
  [
    'a server message sent by a client',
    { type: 'welcome', journalId: 'j', head: 0, reducerHash: '0'.repeat(64), appliedLsn: -1 },
  ],
  ['a missing field', { ...hello, docId: undefined }],
  ['an extra field', { ...hello, admin: true }],
  ['an empty document id', { ...hello, docId: '' }],
  ['a fractional cursor', { ...hello, cursor: 1.5 }],
  ['a negative cursor', { ...hello, cursor: -1 }],
  ['a reducer hash that is not hex', { ...hello, reducerHash: 'z'.repeat(64) }],
  ['no timeline secret', { ...hello, timelineSecret: undefined }],
  ['a timeline secret under 128 bits', { ...hello, timelineSecret: 'a'.repeat(31) }],
  ['a timeline secret that is not lowercase hex', { ...hello, timelineSecret: 'A'.repeat(64) }],
  ['an empty push', { type: 'push', mutations: [] }],
  [
    'a payload over the limit',
    { type: 'push', mutations: [{ lsn: 0, timestamp: 0, payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) }] },
  ],
  ['a payload as a string', { type: 'push', mutations: [{ lsn: 0, timestamp: 0, payload: 'AAAA' }] }],
  ...[-5, -1, 1.5, Number.MAX_SAFE_INTEGER + 1].map((timestamp): [string, unknown] => [
    `a timestamp of ${timestamp} (the reducer takes a u64)`,
    { type: 'push', mutations: [{ lsn: 0, timestamp, payload: new Uint8Array(1) }] },
  ]),
  ['a timeline id with a lone surrogate', { ...hello, timelineId: 'a\uD800' }],
  ['a document id with a lone surrogate', { ...hello, docId: '\uDC00' }],
  ['a document id whose folder name exceeds a file name', { ...hello, docId: '\u00e9'.repeat(52) }],
  ['an array instead of a message', [1, 2, 3]],
  ['null', null],
])('%s is refused as malformed', (_what, value) => {
  expect(() => decodeClientMessage(encodeMessage(value as ClientMessage))).toThrow(
    expect.objectContaining({ kind: 'malformed' }),
  );
});

test.each([
  ['a raw page (protocol v1)', { pgno: 1, data: new Uint8Array(PAGE_SIZE) }],
  ['an empty delta', { pgno: 1, delta: new Uint8Array(0) }],
  ['a delta longer than any page compresses to', { pgno: 1, delta: new Uint8Array(MAX_DELTA_BYTES + 1) }],
])('a frame page that is %s is refused as malformed', (_what, page) => {
  const frames = { type: 'frames', more: false, frames: [{ lsn: 0, pageCount: 1, pages: [page] }] };
  expect(() => decodeServerMessage(encodeMessage(frames as unknown as ServerMessage))).toThrow(
    expect.objectContaining({ kind: 'malformed' }),
  );
});

test('a message over the size limit is refused before it is decoded', () => {
  expect(() => decodeClientMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1))).toThrow(
    expect.objectContaining({ kind: 'oversized' }),
  );
});
