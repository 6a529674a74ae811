-- stagecraft:no-transaction
-- CREATE INDEX CONCURRENTLY cannot run inside a transaction: stagecraft runs this file statement by statement.
CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_email_idx ON accounts (email);
