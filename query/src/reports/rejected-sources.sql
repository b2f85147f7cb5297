-- Sources with the most rejected flows (security group or network ACL):
-- scanners, misconfigured clients, blocked attacks.
SELECT
  srcaddr,
  COUNT(*) AS flows,
  SUM(packets) AS packets,
  COUNT(DISTINCT dstaddr) AS targets,
  COUNT(DISTINCT dstport) AS ports,
  MIN(start_time) AS first_seen,
  MAX(end_time) AS last_seen
FROM flows
WHERE action = 'REJECT'
GROUP BY srcaddr
ORDER BY flows DESC, srcaddr
