// The reducer's rules hold in the browser and at the coordinator: a refused mutation shows why.
import { addTodos, expect, expectSynced, openTodos, test } from './support/todo-app.js';

test('a title over 200 characters is rejected, with its reason in the rejections list', async ({
  page,
  doc,
}) => {
  await openTodos(page, doc);
  await addTodos(page, 'a fine title', 'x'.repeat(201));
  const rejections = page.getByTestId('rejections').getByRole('listitem');
  await expect(rejections).toHaveCount(1);
  await expect(rejections).toContainText('title is longer than 200 characters');
  await expect(page.getByTestId('todo-title')).toHaveText(['a fine title']);
  await expectSynced(page);
  await expect(rejections).toHaveAttribute('data-final', 'true');
});
