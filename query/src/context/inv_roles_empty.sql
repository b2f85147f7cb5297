-- No inventory: no roles from it (flows_once falls back to v11 and the heuristic).
SELECT CAST(NULL AS VARCHAR) AS eni_id, CAST(NULL AS BIGINT) AS valid_from,
  CAST(NULL AS BIGINT) AS valid_to, CAST(NULL AS VARCHAR) AS primary_ip, CAST(NULL AS VARCHAR) AS role
WHERE false
