-- Top talkers by source address: who sends the most.
SELECT
  srcaddr,
  SUM(bytes) AS bytes,
  SUM(packets) AS packets,
  COUNT(*) AS flows,
  COUNT(DISTINCT dstaddr) AS destinations,
  BOOL_AND(srcaddr_is_private) AS private
FROM flows
WHERE srcaddr IS NOT NULL
GROUP BY srcaddr
ORDER BY bytes DESC, srcaddr
