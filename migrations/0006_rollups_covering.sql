-- 0006: the per-service rollup index also carries the sums, so trends and peaks over a long
-- range (a year of hourly rows) read the index alone instead of one table lookup per row.
DROP INDEX rollups_service;
CREATE INDEX rollups_service_sums ON rollups (period, service, bucket_start, event_count, sum_quantity, sum_cost_nanos);
