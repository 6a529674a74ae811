-- Deploy flipr:users to pg
-- requires: users@v1.0

BEGIN;

ALTER TABLE flipr.users ADD COLUMN bio TEXT NOT NULL DEFAULT '';

COMMIT;
