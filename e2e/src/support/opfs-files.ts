// The origin's OPFS as a test sees it from a page: every file's SHA-256 (to show a refusal wrote
// nothing), and a byte flipped in place (to damage a file the way a disk might).
import type { Page } from 'playwright-core';

/** Every file of the origin's OPFS, by its path, with a SHA-256 of its bytes. */
export function opfsFiles(page: Page): Promise<Record<string, string>> {
  return page.evaluate(async () => {
    const files: Record<string, string> = {};
    const walk = async (folder: FileSystemDirectoryHandle, path: string): Promise<void> => {
      for await (const [name, handle] of folder.entries()) {
        if (handle.kind === 'directory') {
          await walk(handle as FileSystemDirectoryHandle, `${path}${name}/`);
        } else {
          const bytes = await (await (handle as FileSystemFileHandle).getFile()).arrayBuffer();
          const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
          files[`${path}${name}`] = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
        }
      }
    };
    await walk(await navigator.storage.getDirectory(), '');
    return files;
  });
}

/** Flips the byte at `at` (from the end when negative) of the OPFS file at `path` ('a/b/c'). */
export function flipOpfsByte(page: Page, path: string, at: number): Promise<void> {
  return page.evaluate(
    async ({ path, at }) => {
      const parts = path.split('/');
      let folder = await navigator.storage.getDirectory();
      for (const part of parts.slice(0, -1)) folder = await folder.getDirectoryHandle(part);
      const handle = await folder.getFileHandle(parts.at(-1) ?? '');
      const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
      const index = at < 0 ? bytes.length + at : at;
      bytes[index] = (bytes[index] ?? 0) ^ 0x5a;
      const writable = await handle.createWritable();
      await writable.write(bytes);
      await writable.close();
    },
    { path, at },
  );
}
