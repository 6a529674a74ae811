-- Runs after the rollout: the new version already writes events of every kind.
CREATE VIEW events_per_day AS
  SELECT date_trunc('day', happened_at) AS day, kind, count(*) AS events
  FROM events
  GROUP BY 1, 2;
