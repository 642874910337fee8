// Tabs of one browser share one document through one owner: edits show across tabs without the
// coordinator, one connection serves them all, and when the owner's tab closes another takes over
// with the edits still pending. Runs its own coordinator, which it stops and starts again, behind a
// gate that can shut out sync while pages and workers still load (a new owner loads its worker).
import { AppServer } from './support/app-server.js';
import { SyncGate } from './support/sync-gate.js';
import {
  addTodos,
  expect,
  expectSynced,
  openTodos,
  shownList,
  syncStatus,
  test,
} from './support/todo-app.js';

test.describe('tabs of one browser', () => {
  // The coordinator stops and starts again; sync comes back after its reconnect backoff.
  test.describe.configure({ timeout: 120_000 });
  let server: AppServer;
  let gate: SyncGate;
  test.beforeEach(async () => {
    server = await AppServer.start();
    gate = await SyncGate.start(server.port);
  });
  test.afterEach(async () => {
    await gate.close();
    await server.dispose();
  });

  test('share one document through one owner, which another tab replaces when its tab closes', async ({
    context,
    browser,
    doc,
  }) => {
    const first = await context.newPage();
    await openTodos(first, doc, gate.url);
    await expectSynced(first);
    const second = await context.newPage();
    await openTodos(second, doc, gate.url);
    await expectSynced(second);

    await test.step('one connection to the coordinator serves both tabs', async () => {
      await expect.poll(() => server.metric('tandem_connections')).toBe(1);
      await addTodos(second, 'from the second tab, online');
      await expect(first.getByTestId('todo-title')).toHaveText(['from the second tab, online']);
      await Promise.all([expectSynced(first), expectSynced(second)]);
      expect(await server.metric('tandem_connections')).toBe(1);
    });

    const tabs = [first, second];
    const ownerIndex = await Promise.any(
      tabs.map(async (tab, i) => {
        await expect(syncStatus(tab)).toHaveAttribute('data-owner', 'true', { timeout: 1_000 });
        return i;
      }),
    );
    const owner = tabs[ownerIndex] ?? first;
    const other = tabs[1 - ownerIndex] ?? second;

    await test.step('with the coordinator stopped, an edit in one tab shows in the other', async () => {
      await server.stop();
      await expect(syncStatus(owner)).not.toHaveText('synced');
      await addTodos(owner, 'from the owner, coordinator down');
      await expect(other.getByTestId('todo-title')).toHaveText([
        'from the second tab, online',
        'from the owner, coordinator down',
      ]);
      await addTodos(other, 'from the other tab, coordinator down');
      await expect(owner.getByTestId('todo-title')).toHaveText([
        'from the second tab, online',
        'from the owner, coordinator down',
        'from the other tab, coordinator down',
      ]);
      await expect(syncStatus(other)).toContainText('2 pending');
      await server.restart();
      await Promise.all([expectSynced(owner, 30_000), expectSynced(other, 30_000)]);
    });

    await test.step("closing the owner's tab with edits pending: the other takes over and its edits reach the coordinator", async () => {
      gate.block();
      await expect(syncStatus(owner)).not.toHaveText('synced');
      await addTodos(owner, 'pending in the owner');
      await other.getByTestId('todo-item').nth(0).getByRole('checkbox', { name: 'Toggle Todo' }).check();
      await expect(owner.getByTestId('todo-item').nth(0)).toHaveClass('completed');
      await expect(syncStatus(other)).toContainText('2 pending');
      const expected = await shownList(other);

      await owner.close();
      await expect(syncStatus(other)).toHaveAttribute('data-owner', 'true', { timeout: 15_000 });
      expect(await shownList(other)).toEqual(expected);
      await expect(syncStatus(other)).toContainText('2 pending');

      gate.open();
      await expectSynced(other, 30_000);
      const elsewhere = await browser.newPage();
      await openTodos(elsewhere, doc, server.url);
      await expect.poll(() => shownList(elsewhere)).toEqual(expected);
      await elsewhere.context().close();
    });
  });
});

test.describe('tabs of one browser, offline', () => {
  test("closing the owner's tab while the browser is offline: the other tab takes over", async ({
    context,
    doc,
  }) => {
    const first = await context.newPage();
    await openTodos(first, doc);
    await expectSynced(first);
    const second = await context.newPage();
    await openTodos(second, doc);
    await expectSynced(second);
    await expect(syncStatus(first)).toHaveAttribute('data-owner', 'true');

    await context.setOffline(true);
    await addTodos(first, 'made offline in the owner');
    await expect(second.getByTestId('todo-title')).toHaveText(['made offline in the owner']);
    await first.close();
    await expect(syncStatus(second)).toHaveAttribute('data-owner', 'true');
    await addTodos(second, 'made offline after the takeover');
    await expect(second.getByTestId('todo-title')).toHaveText([
      'made offline in the owner',
      'made offline after the takeover',
    ]);
    await context.setOffline(false);
    await expectSynced(second);
  });
});
