-- SSH (22) and RDP (3389) reaching the VPC from outside private address
-- space, accepted or rejected. Accepted rows deserve a look.
SELECT
  srcaddr,
  dstaddr,
  CASE dstport WHEN 22 THEN 'ssh' ELSE 'rdp' END AS service,
  action,
  COUNT(*) AS flows,
  SUM(packets) AS packets,
  SUM(bytes) AS bytes,
  MIN(start_time) AS first_seen,
  MAX(end_time) AS last_seen
FROM flows
WHERE protocol = 6
  AND dstport IN (22, 3389)
  AND srcaddr_is_private = FALSE
GROUP BY srcaddr, dstaddr, dstport, action
ORDER BY action, flows DESC, srcaddr, dstaddr
