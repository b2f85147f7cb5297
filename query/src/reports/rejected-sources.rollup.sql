-- rejected-sources over talkers_hourly: the same answer as rejected-sources.sql, from per-hour sums.
SELECT
  srcaddr,
  SUM(flows) AS flows,
  SUM(packets) AS packets,
  COUNT(dstaddr) AS targets,
  COUNT(dstport) AS ports,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen
FROM (
  SELECT
    srcaddr,
    dstaddr,
    NULL AS dstport,
    SUM(records) AS flows,
    SUM(packets) AS packets,
    MIN(first_start) AS first_seen,
    MAX(last_end) AS last_seen
  FROM talkers_hourly
  WHERE action = 'REJECT'
  GROUP BY srcaddr, dstaddr
  UNION ALL
  SELECT
    srcaddr,
    NULL,
    dstport,
    0,
    NULL,
    NULL,
    NULL
  FROM talkers_hourly
  WHERE action = 'REJECT'
  GROUP BY srcaddr, dstport
) AS parts
GROUP BY srcaddr
ORDER BY flows DESC, srcaddr
