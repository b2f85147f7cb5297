-- top-pairs over talkers_hourly: the same answer as top-pairs.sql, from per-hour sums.
SELECT
  srcaddr,
  dstaddr,
  SUM(bytes) AS bytes,
  SUM(packets) AS packets,
  SUM(flows) AS flows,
  COUNT(dstport) AS ports
FROM (
  SELECT
    srcaddr,
    dstaddr,
    dstport,
    SUM(bytes) AS bytes,
    SUM(packets) AS packets,
    SUM(records) AS flows
  FROM talkers_hourly
  WHERE srcaddr IS NOT NULL AND dstaddr IS NOT NULL
  GROUP BY srcaddr, dstaddr, dstport
) AS ports
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, srcaddr, dstaddr
