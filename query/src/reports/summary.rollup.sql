-- summary over talkers_hourly: the same answer as summary.sql, from per-hour sums.
WITH labeled AS (
  SELECT
    COALESCE(action, CASE log_status WHEN 'OK' THEN '(none)' ELSE log_status END) AS action,
    srcaddr,
    dstaddr,
    records,
    packets,
    bytes
  FROM talkers_hourly
)
SELECT
  action,
  SUM(flows) AS flows,
  SUM(packets) AS packets,
  SUM(bytes) AS bytes,
  ROUND(100.0 * SUM(bytes) / SUM(SUM(bytes)) OVER (), 2) AS bytes_pct,
  COUNT(srcaddr) AS sources,
  COUNT(dstaddr) AS destinations
FROM (
  SELECT
    action,
    srcaddr,
    NULL AS dstaddr,
    SUM(records) AS flows,
    SUM(packets) AS packets,
    SUM(bytes) AS bytes
  FROM labeled
  GROUP BY action, srcaddr
  UNION ALL
  SELECT action, NULL, dstaddr, 0, NULL, NULL
  FROM labeled
  GROUP BY action, dstaddr
) AS parts
GROUP BY action
ORDER BY flows DESC, action
