-- interfaces over talkers_hourly: the same answer as interfaces.sql, from per-hour sums.
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
    SUM(records) AS flows,
    SUM(bytes) AS bytes,
    SUM(packets) AS packets,
    SUM(CASE WHEN action = 'ACCEPT' THEN bytes ELSE 0 END) AS accepted_bytes,
    SUM(CASE WHEN action = 'REJECT' THEN records ELSE 0 END) AS rejected_flows
  FROM talkers_hourly
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
  FROM talkers_hourly
  WHERE interface_id IS NOT NULL
  GROUP BY account_id, interface_id, dstaddr
) AS parts
GROUP BY account_id, interface_id
ORDER BY bytes DESC NULLS LAST, account_id, interface_id
