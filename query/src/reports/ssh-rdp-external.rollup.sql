-- ssh-rdp-external over talkers_hourly: the same answer as ssh-rdp-external.sql, from per-hour sums.
SELECT
  srcaddr,
  dstaddr,
  CASE dstport WHEN 22 THEN 'ssh' ELSE 'rdp' END AS service,
  action,
  SUM(records) AS flows,
  SUM(packets) AS packets,
  SUM(bytes) AS bytes,
  MIN(first_start) AS first_seen,
  MAX(last_end) AS last_seen
FROM talkers_hourly
WHERE protocol = 6
  AND dstport IN (22, 3389)
  AND srcaddr_is_private = FALSE
GROUP BY srcaddr, dstaddr, dstport, action
ORDER BY action, flows DESC, srcaddr, dstaddr
