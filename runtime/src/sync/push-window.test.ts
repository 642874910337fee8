import { expect, test } from 'vitest';
import {
  MAX_PAYLOAD_BYTES,
  MAX_PUSH_BYTES_IN_FLIGHT,
  MAX_PUSH_MUTATIONS,
  MAX_PUSHES_IN_FLIGHT,
} from '../protocol/limits.js';
import { nextPush } from './push-window.js';

const mutations = (count: number, bytes: number) =>
  Array.from({ length: count }, () => ({ payload: new Uint8Array(bytes) }));
const idle = { inFlight: [], inFlightBytes: 0 };

test('a push takes at most MAX_PUSH_MUTATIONS of what is pending, from where the last one ended', () => {
  const pending = mutations(MAX_PUSH_MUTATIONS + 3, 10);
  expect(nextPush(pending, 0, idle)).toEqual({ end: MAX_PUSH_MUTATIONS, bytes: MAX_PUSH_MUTATIONS * 10 });
  expect(nextPush(pending, MAX_PUSH_MUTATIONS, idle)).toEqual({ end: MAX_PUSH_MUTATIONS + 3, bytes: 30 });
  expect(nextPush(pending, MAX_PUSH_MUTATIONS + 3, idle)).toBeUndefined();
});

test('a mutation larger than a push fills one alone', () => {
  const pending = [...mutations(1, 1), ...mutations(1, MAX_PAYLOAD_BYTES), ...mutations(1, 1)];
  expect(nextPush(pending, 0, idle)).toEqual({ end: 1, bytes: 1 });
  expect(nextPush(pending, 1, idle)).toEqual({ end: 2, bytes: MAX_PAYLOAD_BYTES });
  expect(nextPush(pending, 2, idle)).toEqual({ end: 3, bytes: 1 });
});

test('no push leaves while the window is full, by count or by bytes', () => {
  const pending = mutations(2, 100);
  const full = {
    inFlight: Array.from({ length: MAX_PUSHES_IN_FLIGHT }, () => 1),
    inFlightBytes: MAX_PUSHES_IN_FLIGHT,
  };
  expect(nextPush(pending, 0, full)).toBeUndefined();
  expect(
    nextPush(pending, 0, {
      inFlight: [MAX_PUSH_BYTES_IN_FLIGHT - 150],
      inFlightBytes: MAX_PUSH_BYTES_IN_FLIGHT - 150,
    }),
  ).toBeUndefined();
  expect(
    nextPush(pending, 0, {
      inFlight: [MAX_PUSH_BYTES_IN_FLIGHT - 200],
      inFlightBytes: MAX_PUSH_BYTES_IN_FLIGHT - 200,
    }),
  ).toEqual({ end: 2, bytes: 200 });
});
