-- Top talkers by address pair, each conversation's bytes counted once (flows_once; --count all: every record).
SELECT
  LEAST(orig_src, orig_dst) AS address_a,
  GREATEST(orig_src, orig_dst) AS address_b,
  SUM(bytes) AS bytes,
  SUM(packets) AS packets,
  COUNT(*) AS records
FROM talkers
WHERE orig_src IS NOT NULL AND orig_dst IS NOT NULL
GROUP BY LEAST(orig_src, orig_dst), GREATEST(orig_src, orig_dst)
ORDER BY bytes DESC NULLS LAST, address_a, address_b
