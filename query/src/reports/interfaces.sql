-- Traffic per network interface: what each ENI moves, accepts and rejects.
-- Sources and destinations are counted as the rows of two inner GROUP BYs,
-- one per (interface, source) and one per (interface, destination), rather
-- than with COUNT(DISTINCT ...), whose sets for a busy interface do not fit
-- in memory; plain GROUP BYs spill to disk. The second part adds no
-- traffic, only its destinations.
SELECT
  account_id,
  interface_id,
  SUM(flows) AS flows,
  SUM(bytes) AS bytes,
  SUM(packets) AS packets,
  SUM(accepted_bytes) AS accepted_bytes,
  SUM(rejected_flows) AS rejected_flows,
  COUNT(srcaddr) AS sources,
  COUNT(dstaddr) AS destinations
FROM (
  SELECT
    account_id,
    interface_id,
    srcaddr,
    NULL AS dstaddr,
    COUNT(*) AS flows,
    SUM(bytes) AS bytes,
    SUM(packets) AS packets,
    SUM(CASE WHEN action = 'ACCEPT' THEN bytes ELSE 0 END) AS accepted_bytes,
    SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected_flows
  FROM flows
  WHERE interface_id IS NOT NULL
  GROUP BY account_id, interface_id, srcaddr
  UNION ALL
  SELECT
    account_id,
    interface_id,
    NULL,
    dstaddr,
    0,
    NULL,
    NULL,
    0,
    0
  FROM flows
  WHERE interface_id IS NOT NULL
  GROUP BY account_id, interface_id, dstaddr
) AS parts
GROUP BY account_id, interface_id
ORDER BY bytes DESC NULLS LAST, account_id, interface_id
