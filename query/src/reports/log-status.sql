-- Flow log health per interface: NODATA (no traffic in the window) and
-- SKIPDATA (records skipped for capacity or an internal error).
SELECT
  account_id,
  interface_id,
  COUNT(*) AS records,
  SUM(CASE WHEN log_status = 'OK' THEN 1 ELSE 0 END) AS ok,
  SUM(CASE WHEN log_status = 'NODATA' THEN 1 ELSE 0 END) AS nodata,
  SUM(CASE WHEN log_status = 'SKIPDATA' THEN 1 ELSE 0 END) AS skipdata,
  MIN(start_time) AS first_seen,
  MAX(end_time) AS last_seen
FROM flows
GROUP BY account_id, interface_id
ORDER BY skipdata DESC, nodata DESC, account_id, interface_id
