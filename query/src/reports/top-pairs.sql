-- Top talkers by source and destination pair (conversations, one direction).
SELECT
  srcaddr,
  dstaddr,
  SUM(bytes) AS bytes,
  SUM(packets) AS packets,
  COUNT(*) AS flows,
  COUNT(DISTINCT dstport) AS ports
FROM flows
WHERE srcaddr IS NOT NULL AND dstaddr IS NOT NULL
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, srcaddr, dstaddr
