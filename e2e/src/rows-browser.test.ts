// Exact query results in Chromium, through host-browser's tab API (comlink to the owner worker): array
// rows keep duplicate and integer-like column names and both halves of a self-join, integers come back
// as asked (bigints cross the worker boundary as bigints), an array-row subscription hears
// { columns, rows }, and caughtUp() and rejections() answer in the tab.
import { expect, test } from 'vitest';
import { useBrowserRig } from './support/browser-rig.js';

const rig = useBrowserRig('rows-page');

const big = (value: bigint | number) => ({ bigint: String(value) });

test('a tab reads array rows, chosen integers, array subscriptions, caughtUp and rejections through the tab API', async () => {
  const page = await rig.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(rig.server.url);
  await page.waitForFunction(() => window.rows !== undefined);
  const coordinatorUrl = rig.syncUrl;
  const result = await page.evaluate((options) => window.rows.run(options), {
    reducer: rig.reducer,
    docId: 'rows-browser',
    coordinatorUrl,
  });
  expect(result).toMatchObject({
    duplicates: {
      columns: ['id', 'id', 'id', '10', '2'],
      rows: [
        ['a', 'a', 'milk', 10, 2],
        ['b', 'b', 'bread', 10, 2],
      ],
    },
    join: {
      columns: [
        ...['id', 'title', 'completed', 'created_at', 'priority'],
        ...['id', 'title', 'completed', 'created_at', 'priority'],
      ],
      rows: [
        ['a', 'milk', 0, expect.any(Number), 0, 'a', 'milk', 0, expect.any(Number), 0],
        ['b', 'bread', 1, expect.any(Number), 0, 'b', 'bread', 1, expect.any(Number), 0],
      ],
    },
    auto: [{ big: big(2n ** 53n + 1n), small: 7 }],
    bigint: [{ big: big(2n ** 53n + 1n), small: big(7) }],
    string: { columns: ['big', 'small'], rows: [['9007199254740993', '7']] },
    heard: [
      {
        columns: ['id', 'completed', 'id'],
        rows: [
          ['a', big(0), big(0)],
          ['b', big(0), big(0)],
        ],
      },
      {
        columns: ['id', 'completed', 'id'],
        rows: [
          ['a', big(0), big(0)],
          ['b', big(1), big(1)],
        ],
      },
    ],
    bad: { status: 'rejected', reason: 'title is longer than 200 characters' },
    rejections: [
      {
        reason: 'title is longer than 200 characters',
        final: true,
        mutation: { type: 'create', id: 'c', title: 'x'.repeat(201) },
      },
    ],
  });
  // Objects put integer-like keys first: what array rows are for.
  expect(Object.keys((result as { objects: object[] }).objects[0]!)).toEqual(['2', '10', 'id']);
  expect(errors).toEqual([]);
  await page.close();
});
