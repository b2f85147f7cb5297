-- summary over the per-hour rollups: the same answer as summary.sql, from
-- sources_hourly (flows, packets, bytes and the distinct sources) and
-- destinations_hourly (the distinct destinations). Both are keyed by one
-- address, so on diverse traffic they hold a tenth of the rows the
-- conversation table does.
WITH sources AS (
  SELECT
    COALESCE(action, CASE log_status WHEN 'OK' THEN '(none)' ELSE log_status END) AS action,
    srcaddr,
    SUM(records) AS flows,
    SUM(packets) AS packets,
    SUM(bytes) AS bytes
  FROM sources_hourly
  GROUP BY 1, 2
),
destinations AS (
  SELECT
    COALESCE(action, CASE log_status WHEN 'OK' THEN '(none)' ELSE log_status END) AS action,
    dstaddr
  FROM destinations_hourly
  GROUP BY 1, 2
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
  SELECT action, srcaddr, NULL AS dstaddr, flows, packets, bytes
  FROM sources
  UNION ALL
  SELECT action, NULL, dstaddr, 0, NULL, NULL
  FROM destinations
) AS parts
GROUP BY action
ORDER BY flows DESC, action
