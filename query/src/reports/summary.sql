-- Accept/reject summary: flows, packets and bytes by action.
-- NODATA and SKIPDATA records (no traffic / records skipped) are their own
-- rows; Transit Gateway records, which have no action, show as '(none)'.
SELECT
  COALESCE(action, CASE log_status WHEN 'OK' THEN '(none)' ELSE log_status END) AS action,
  COUNT(*) AS flows,
  SUM(packets) AS packets,
  SUM(bytes) AS bytes,
  ROUND(100.0 * SUM(bytes) / SUM(SUM(bytes)) OVER (), 2) AS bytes_pct,
  COUNT(DISTINCT srcaddr) AS sources,
  COUNT(DISTINCT dstaddr) AS destinations
FROM flows
GROUP BY 1
ORDER BY flows DESC, action
