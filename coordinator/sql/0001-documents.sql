-- The coordinator's documents in PostgreSQL (coordinator/src/store/postgres-store.ts).
-- Applied once by postgres-schema.ts, inside a transaction, recorded in schema_migrations.

-- One row per document: its history's id and how many frames are durable (the sync mark: a document
-- whose rows yield fewer frames is refused as storage-corrupt, never served shorter).
CREATE TABLE documents (
  doc_id text PRIMARY KEY,
  journal_id text NOT NULL,
  next_frame_lsn bigint NOT NULL DEFAULT 0 CHECK (next_frame_lsn >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The frames after the newest image, one row each: runtime's frame record (page count, then each
-- changed page whole). Inserted in the statement that advances documents.next_frame_lsn.
CREATE TABLE frames (
  doc_id text NOT NULL REFERENCES documents (doc_id),
  lsn bigint NOT NULL CHECK (lsn >= 0),
  record bytea NOT NULL,
  PRIMARY KEY (doc_id, lsn)
);

-- Checkpoints: the database after frame_count frames, as runtime's page image (records).
CREATE TABLE images (
  doc_id text NOT NULL REFERENCES documents (doc_id),
  frame_count bigint NOT NULL CHECK (frame_count >= 0),
  image bytea NOT NULL,
  PRIMARY KEY (doc_id, frame_count)
);

-- Every reducer the coordinators ran (prepared bytes, by SHA-256), and the one deployed last.
CREATE TABLE reducers (
  sha256 text PRIMARY KEY,
  bytes bytea NOT NULL,
  schema_version integer NOT NULL,
  kept_seq bigserial NOT NULL
);

CREATE TABLE current_reducer (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  sha256 text NOT NULL REFERENCES reducers (sha256)
);
