-- log-status over traffic_hourly: the same answer as log-status.sql, from per-hour sums.
SELECT
  account_id,
  interface_id,
  SUM(records) AS records,
  SUM(CASE WHEN log_status = 'OK' THEN records ELSE 0 END) AS ok,
  SUM(CASE WHEN log_status = 'NODATA' THEN records ELSE 0 END) AS nodata,
  SUM(CASE WHEN log_status = 'SKIPDATA' THEN records ELSE 0 END) AS skipdata,
  MIN(first_start) AS first_seen,
  MAX(last_end) AS last_seen
FROM traffic_hourly
GROUP BY account_id, interface_id
ORDER BY skipdata DESC, nodata DESC, account_id, interface_id
