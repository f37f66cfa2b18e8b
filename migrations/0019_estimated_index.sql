-- 0019: the storage records marked estimated (gaps billed as a lower bound, src/collectors/storage.ts),
-- indexed apart. Every usage report shows the estimated share of storage: without this index it
-- read every record of the period to find the few marked ones. The index holds only those (one
-- per path per gap), so it costs nothing to other records and a report reads it in microseconds.
-- A query uses it only when its WHERE repeats both terms literally (src/analytics/estimated.ts).
CREATE INDEX usage_records_estimated ON usage_records (recorded_at)
  WHERE service = 'storage' AND json_extract(metadata, '$.estimated') = 1;
