ALTER TABLE accounts ADD COLUMN email text;
UPDATE accounts SET email = name || '@example.com' WHERE email IS NULL;
