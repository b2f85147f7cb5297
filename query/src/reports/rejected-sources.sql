-- Sources with the most rejected flows (security group or network ACL):
-- scanners, misconfigured clients, blocked attacks.
-- Targets and ports are counted as the rows of two inner GROUP BYs, one
-- per (source, target) and one per (source, port), rather than with
-- COUNT(DISTINCT ...), which keeps sets per source that do not fit in
-- memory when scanners come from millions of addresses; plain GROUP BYs
-- spill to disk. The second part adds no flows, only its ports.
SELECT
  srcaddr,
  SUM(flows) AS flows,
  SUM(packets) AS packets,
  COUNT(dstaddr) AS targets,
  COUNT(dstport) AS ports,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen
FROM (
  SELECT
    srcaddr,
    dstaddr,
    NULL AS dstport,
    COUNT(*) AS flows,
    SUM(packets) AS packets,
    MIN(start_time) AS first_seen,
    MAX(end_time) AS last_seen
  FROM flows
  WHERE action = 'REJECT'
  GROUP BY srcaddr, dstaddr
  UNION ALL
  SELECT
    srcaddr,
    NULL,
    dstport,
    0,
    NULL,
    NULL,
    NULL
  FROM flows
  WHERE action = 'REJECT'
  GROUP BY srcaddr, dstport
) AS parts
GROUP BY srcaddr
ORDER BY flows DESC, srcaddr
