-- Ownership of documents among coordinators sharing this database (coordinator/src/store/leases.ts).
-- One row per document ever owned: the owner (a coordinator process's random id), its epoch (the
-- fencing token: it grows by one at each take, and never goes back, so rows are expired, not deleted)
-- and when the lease expires unless renewed. Frames are written only under an unexpired lease of the
-- writer's owner id and epoch (postgres-store.ts).
CREATE TABLE leases (
  doc_id text PRIMARY KEY,
  owner text NOT NULL,
  epoch bigint NOT NULL CHECK (epoch >= 1),
  expires_at timestamptz NOT NULL
);

CREATE INDEX leases_owner ON leases (owner);
