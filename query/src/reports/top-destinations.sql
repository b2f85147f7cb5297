-- Top talkers by destination address: who receives the most.
SELECT
  dstaddr,
  SUM(bytes) AS bytes,
  SUM(packets) AS packets,
  COUNT(*) AS flows,
  COUNT(DISTINCT srcaddr) AS sources,
  BOOL_AND(dstaddr_is_private) AS private
FROM flows
WHERE dstaddr IS NOT NULL
GROUP BY dstaddr
ORDER BY bytes DESC, dstaddr
