import { expect, test } from 'vitest';
import { toPlain, toValue } from './value.js';

test('a safe integer becomes an ABI integer and a fraction a real', () => {
  expect(toValue(2)).toEqual({ tag: 'integer', val: 2n });
  expect(toValue(2.5)).toEqual({ tag: 'real', val: 2.5 });
  expect(toPlain({ tag: 'integer', val: 2n ** 60n })).toBe(2n ** 60n);
});
