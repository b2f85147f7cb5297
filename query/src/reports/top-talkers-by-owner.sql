-- Top talkers by owner (--by owner): bytes each owner sent and received, from the inventory as of each flow, each conversation once (--count all: every record).
-- Each record counts for both of its ends, so a conversation between two
-- addresses of one owner counts as sent and as received (and twice in
-- records and packets).
WITH ends AS (
  SELECT src_owner_kind AS owner_kind, COALESCE(src_owner_id, orig_src) AS owner,
    src_owner_name AS owner_name, src_certainty AS certainty,
    bytes AS sent, CAST(0 AS BIGINT) AS received, packets, orig_dst AS peer
  FROM talkers_enriched
  WHERE orig_src IS NOT NULL AND orig_dst IS NOT NULL
  UNION ALL
  SELECT dst_owner_kind, COALESCE(dst_owner_id, orig_dst),
    dst_owner_name, dst_certainty,
    CAST(0 AS BIGINT), bytes, packets, orig_src
  FROM talkers_enriched
  WHERE orig_src IS NOT NULL AND orig_dst IS NOT NULL
)
SELECT
  owner_kind,
  owner,
  MAX(owner_name) AS owner_name,
  SUM(sent) + SUM(received) AS bytes,
  SUM(sent) AS bytes_sent,
  SUM(received) AS bytes_received,
  SUM(packets) AS packets,
  COUNT(*) AS records,
  COUNT(DISTINCT peer) AS peers,
  -- The weakest certainty of the owner's records, in the order of
  -- context's Certainty (NULL: no record's address is in the inventory).
  CASE WHEN COUNT(certainty) = 0 THEN NULL
       WHEN COUNT(CASE WHEN certainty = 'before_first_snapshot' THEN 1 END) > 0 THEN 'before_first_snapshot'
       WHEN COUNT(CASE WHEN certainty = 'uncertain' THEN 1 END) > 0 THEN 'uncertain'
       WHEN COUNT(CASE WHEN certainty = 'current' THEN 1 END) > 0 THEN 'current'
       WHEN COUNT(CASE WHEN certainty = 'certain' THEN 1 END) = COUNT(certainty) THEN 'certain'
  END AS certainty
FROM ends
GROUP BY owner_kind, owner
ORDER BY bytes DESC NULLS LAST, owner_kind, owner
