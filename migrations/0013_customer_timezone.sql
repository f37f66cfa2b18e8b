-- 0013: a customer's own time zone (IANA name). NULL: the installation's zone (config timezone).
-- Days, weeks and months of that customer's reports and statements start at its local midnight.
ALTER TABLE customers ADD COLUMN timezone TEXT;
