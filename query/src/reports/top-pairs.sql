-- Top talkers by source and destination pair (conversations, one direction).
-- Ports are counted from an inner GROUP BY over (pair, port) rather than
-- with COUNT(DISTINCT dstport), so nothing keeps a set per pair and both
-- GROUP BYs spill to disk when millions of pairs do not fit in memory.
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
    COUNT(*) AS flows
  FROM flows
  WHERE srcaddr IS NOT NULL AND dstaddr IS NOT NULL
  GROUP BY srcaddr, dstaddr, dstport
) AS ports
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, srcaddr, dstaddr
