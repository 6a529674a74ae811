-- Verify flipr:users on pg

BEGIN;

SELECT nickname, password, timestamp, bio
  FROM flipr.users
 WHERE FALSE;

ROLLBACK;
