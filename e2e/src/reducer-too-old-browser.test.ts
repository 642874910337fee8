// Never an older reducer over a newer schema, in Chromium (issue 12, must-show 4): a document a version 2
// reducer wrote to OPFS is refused to the version 1 reducer with `reducer-too-old`, naming both versions,
// and the refusal writes nothing: every OPFS file is byte for byte what it was. Version 2 then opens it
// whole. The Node client and the coordinator are held to the same in reducer-too-old.test.ts.
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { useBrowserRig } from './support/browser-rig.js';
import { opfsFiles } from './support/opfs-files.js';
import { openOwner } from './support/owner-page.js';
import { preparedReducerUrl } from './support/prepared-reducer.js';
import { REPO_ROOT } from './support/vite-server.js';

const rig = useBrowserRig('owner-page');

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');

test('a version 2 document in OPFS is refused to the version 1 reducer with reducer-too-old, and no OPFS byte changes', async () => {
  const context = await rig.browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  try {
    await page.goto(rig.server.url);
    await page.waitForFunction(() => window.owner !== undefined);

    // rig.reducer is the todo reducer at schema version 2, as the coordinator serves it.
    const docId = 'too-old-browser';
    const status = await openOwner(page, rig.reducer, { docId });
    expect(status.persisted).toBe(true);
    const created = await page.evaluate(() =>
      window.owner.mutate({ type: 'create', id: 'a', title: 'milk', priority: 3 }),
    );
    expect(created.ok).toBe(true);
    await page.evaluate(() => window.owner.close());

    const before = await opfsFiles(page);
    expect(Object.keys(before).length).toBeGreaterThan(0);

    const v1 = (await preparedReducerUrl(TODO_V1)).replace(/^data:application\/wasm;base64,/, '');
    const refused = await page.evaluate((o) => window.owner.open(o), { reducer: v1, docId });
    expect(refused).toMatchObject({ ok: false, tandem: true, kind: 'reducer-too-old' });
    expect(refused.ok === false && refused.message).toMatch(/schema version 2 .*version 1/);
    expect(await opfsFiles(page)).toEqual(before);

    await openOwner(page, rig.reducer, { docId });
    const rows = await page.evaluate(() => window.owner.query('SELECT id, priority FROM todos'));
    expect(rows).toEqual({ ok: true, value: [{ id: 'a', priority: 3 }] });
    await page.evaluate(() => window.owner.close());
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
}, 60_000);
