import { createHash } from 'node:crypto';
import { WORLD_PACKAGE } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { readWit } from './world.js';

// The ABI's shape without its comments and layout: any change to it changes this hash.
function shapeOf(wit: string): string {
  return wit
    .replace(/\/\/.*$/gm, '')
    .replace(/\s+/g, ' ')
    .trim();
}

// Pinned per world version. When this fails, the WIT world changed: bump the package version in
// reducer-sdk/wit/reducer.wit (and WORLD_PACKAGE in runtime/src/reducer/world.ts), add a line to its
// version history, then pin the new hash here.
const PINNED: Record<string, string> = {
  'tandem:reducer@0.1.0': 'e539fce4938eda7b03a7674512c057e447905e4246ba4b69fe51e5c3b1185128',
  'tandem:reducer@0.2.0': 'db6a0df00bfed27f42dce6b292924bcc7caeae0f55e2aa45e4c6689dc5dc1ec4',
};

test('the WIT world cannot change without a version bump', () => {
  const wit = readWit();
  const version = /^package\s+([\w:-]+@[\d.]+);/m.exec(wit)?.[1];
  expect(version).toBe(WORLD_PACKAGE);
  const hash = createHash('sha256').update(shapeOf(wit)).digest('hex');
  expect(hash, `the world ${version} changed shape`).toBe(PINNED[version ?? '']);
});
