-- 0017: the costs a correction changed, as JSON [[id, cost_nanos], …]: a sync target that holds
-- the records (the Tally collector) takes exactly these, instead of re-reading the whole month.
ALTER TABLE corrections ADD COLUMN costs TEXT NOT NULL DEFAULT '[]';
