-- top-sources over talkers_hourly: the same answer as top-sources.sql, from per-hour sums.
SELECT
  srcaddr,
  SUM(bytes) AS bytes,
  SUM(packets) AS packets,
  SUM(flows) AS flows,
  COUNT(dstaddr) AS destinations,
  BOOL_AND(private) AS private
FROM (
  SELECT
    srcaddr,
    dstaddr,
    SUM(bytes) AS bytes,
    SUM(packets) AS packets,
    SUM(records) AS flows,
    BOOL_AND(srcaddr_is_private) AS private
  FROM talkers_hourly
  WHERE srcaddr IS NOT NULL
  GROUP BY srcaddr, dstaddr
) AS pairs
GROUP BY srcaddr
ORDER BY bytes DESC, srcaddr
