-- Traffic per network interface: what each ENI moves, accepts and rejects.
SELECT
  account_id,
  interface_id,
  COUNT(*) AS flows,
  SUM(bytes) AS bytes,
  SUM(packets) AS packets,
  SUM(CASE WHEN action = 'ACCEPT' THEN bytes ELSE 0 END) AS accepted_bytes,
  SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected_flows,
  COUNT(DISTINCT srcaddr) AS sources,
  COUNT(DISTINCT dstaddr) AS destinations
FROM flows
WHERE interface_id IS NOT NULL
GROUP BY account_id, interface_id
ORDER BY bytes DESC NULLS LAST, account_id, interface_id
