-- Accept/reject summary: flows, packets and bytes by action.
-- NODATA and SKIPDATA records (no traffic / records skipped) are their own
-- rows; Transit Gateway records, which have no action, show as '(none)'.
-- Sources and destinations are counted as the rows of two inner GROUP BYs,
-- one per (action, source) and one per (action, destination), rather than
-- with COUNT(DISTINCT ...), whose sets of millions of addresses do not fit
-- in memory; plain GROUP BYs spill to disk. The second part adds no
-- traffic, only its destinations.
WITH labeled AS (
  SELECT
    COALESCE(action, CASE log_status WHEN 'OK' THEN '(none)' ELSE log_status END) AS action,
    srcaddr,
    dstaddr,
    packets,
    bytes
  FROM flows
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
    COUNT(*) AS flows,
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
