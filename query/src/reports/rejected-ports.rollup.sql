-- rejected-ports over talkers_hourly: the same answer as rejected-ports.sql, from per-hour sums.
SELECT
  dstport,
  protocol,
  SUM(flows) AS flows,
  COUNT(srcaddr) AS sources,
  COUNT(dstaddr) AS targets,
  SUM(packets) AS packets
FROM (
  SELECT
    dstport,
    protocol_name AS protocol,
    srcaddr,
    NULL AS dstaddr,
    SUM(records) AS flows,
    SUM(packets) AS packets
  FROM talkers_hourly
  WHERE action = 'REJECT'
  GROUP BY dstport, protocol_name, srcaddr
  UNION ALL
  SELECT
    dstport,
    protocol_name,
    NULL,
    dstaddr,
    0,
    NULL
  FROM talkers_hourly
  WHERE action = 'REJECT'
  GROUP BY dstport, protocol_name, dstaddr
) AS parts
GROUP BY dstport, protocol
ORDER BY flows DESC, dstport, protocol
