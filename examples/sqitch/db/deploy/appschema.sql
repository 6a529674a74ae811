-- Deploy flipr:appschema to pg

BEGIN;

CREATE SCHEMA flipr;

COMMIT;
