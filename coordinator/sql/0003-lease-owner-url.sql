-- Where a lease's owner is reached (coordinator/src/store/leases.ts): its public URL (`--public-url`,
-- http://host:port), recorded with each take, so that another coordinator asked for the document
-- redirects the client there. Null for an owner that gave none (it listens on every interface, or ran
-- before this file): its clients are told to retry instead.
ALTER TABLE leases ADD COLUMN owner_url text;
