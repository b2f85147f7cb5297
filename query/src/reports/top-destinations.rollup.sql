-- top-destinations over talkers_hourly: the same answer as top-destinations.sql, from per-hour sums.
SELECT
  dstaddr,
  SUM(bytes) AS bytes,
  SUM(packets) AS packets,
  SUM(flows) AS flows,
  COUNT(srcaddr) AS sources,
  BOOL_AND(private) AS private
FROM (
  SELECT
    dstaddr,
    srcaddr,
    SUM(bytes) AS bytes,
    SUM(packets) AS packets,
    SUM(records) AS flows,
    BOOL_AND(dstaddr_is_private) AS private
  FROM talkers_hourly
  WHERE dstaddr IS NOT NULL
  GROUP BY dstaddr, srcaddr
) AS pairs
GROUP BY dstaddr
ORDER BY bytes DESC, dstaddr
