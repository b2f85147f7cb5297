-- Top talkers by source address: who sends the most.
-- Destinations are counted from an inner GROUP BY over (source,
-- destination) pairs rather than with COUNT(DISTINCT dstaddr), which keeps
-- a set per source: see top-destinations.sql.
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
    COUNT(*) AS flows,
    BOOL_AND(srcaddr_is_private) AS private
  FROM flows
  WHERE srcaddr IS NOT NULL
  GROUP BY srcaddr, dstaddr
) AS pairs
GROUP BY srcaddr
ORDER BY bytes DESC, srcaddr
