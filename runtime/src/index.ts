export type { Frame, FramePage } from './frame.js';
export { Connection, SqlError } from './sqlite/connection.js';
export { loadSqlite, type Sqlite3 } from './sqlite/sqlite.js';
export {
  CAPTURE_VFS_NAME,
  type CaptureVfs,
  type CommitFrame,
  type CommitListener,
  type Envelope,
  installCaptureVfs,
} from './vfs/capture-vfs.js';
export { deriveSeed, SeededRandom } from './vfs/entropy.js';
export { PAGE_SIZE, PageStore } from './vfs/page-store.js';
