-- Destination ports with the most rejected flows: what is being knocked on.
SELECT
  dstport,
  protocol_name AS protocol,
  COUNT(*) AS flows,
  COUNT(DISTINCT srcaddr) AS sources,
  COUNT(DISTINCT dstaddr) AS targets,
  SUM(packets) AS packets
FROM flows
WHERE action = 'REJECT'
GROUP BY dstport, protocol_name
ORDER BY flows DESC, dstport, protocol
