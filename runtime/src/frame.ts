// A frame: the pages one committed SQLite transaction changed, the unit of replication.
// `pages` are sorted by pgno, each `data` is a PAGE_SIZE copy owned by the frame (never a view into
// SQLite's memory or into a page store), and `pageCount` is the database size after the commit: applying
// frames in lsn order to an empty page store rebuilds the database byte for byte.

export interface FramePage {
  readonly pgno: number;
  readonly data: Uint8Array;
}

export interface Frame {
  readonly lsn: number;
  readonly pageCount: number;
  readonly pages: readonly FramePage[];
}
