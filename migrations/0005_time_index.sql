-- 0005: one time index on usage_records instead of two. Live records arrive in time order, so
-- the recorded_at index (0003) is appended to; (service, recorded_at) was one more b-tree to
-- update on every insert (about a quarter of ingest throughput). Per-service reads over a time
-- range (stats, breakdowns) now range over recorded_at and check the service on each row.
DROP INDEX usage_records_service_time;
