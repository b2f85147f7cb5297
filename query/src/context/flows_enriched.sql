-- Every flow with the owner of its recording interface and of both packet
-- addresses as of the flow's start (spec/network-context.md §3.3). An
-- address is looked up in the recording interface's VPC first (private
-- ranges overlap across VPCs), then across every VPC (`other_vpc`, or
-- `ambiguous`); one not in the inventory is `external` when public and
-- `unknown_private` otherwise. inv_ip_owner's segments never overlap per
-- (address, vpc), so no flow is repeated. Records are evidence (§3.3): a
-- record on interface X proves srcaddr (egress) or dstaddr (ingress) is
-- X's during its window, which makes X's ownership `certain` then, even
-- in a gap (the window is taken per interface, address and hour).
WITH evidence AS (
  SELECT interface_id AS eni_id,
    CASE WHEN flow_direction = 'egress' THEN srcaddr ELSE dstaddr END AS address,
    CAST("start" / 3600 AS BIGINT) AS h,
    min("start") AS ev_start, max("end") AS ev_end
  FROM flows
  WHERE flow_direction IN ('egress', 'ingress') AND interface_id IS NOT NULL
  GROUP BY 1, 2, 3
)
SELECT
  f.*,
  e.vpc_id AS interface_vpc_id,
  e.owner_kind AS interface_owner_kind,
  e.owner_id AS interface_owner_id,
  e.owner_name AS interface_owner_name,
  e.owner_arn AS interface_owner_arn,
  CASE
    WHEN e.eni_id IS NULL THEN NULL
    WHEN f."start" <= e.last_seen THEN 'certain'
    WHEN e.valid_to IS NULL THEN 'current'
    ELSE 'uncertain'
  END AS interface_certainty,
  COALESCE(s1.eni_id, s2.eni_id) AS src_eni_id,
  COALESCE(s1.owner_kind, s2.owner_kind,
    CASE WHEN is_private(COALESCE(f.pkt_srcaddr, f.srcaddr)) THEN 'unknown_private' ELSE 'external' END) AS src_owner_kind,
  COALESCE(s1.owner_id, s2.owner_id) AS src_owner_id,
  COALESCE(s1.owner_name, s2.owner_name) AS src_owner_name,
  CASE WHEN se.eni_id IS NOT NULL THEN 'certain' ELSE COALESCE(s1.certainty, s2.certainty) END AS src_certainty,
  CASE WHEN s1.eni_id IS NULL AND s2.eni_id IS NOT NULL THEN
    CASE WHEN s2.owner_kind = 'ambiguous' THEN 'ambiguous' ELSE 'other_vpc' END END AS src_flag,
  COALESCE(d1.eni_id, d2.eni_id) AS dst_eni_id,
  COALESCE(d1.owner_kind, d2.owner_kind,
    CASE WHEN is_private(COALESCE(f.pkt_dstaddr, f.dstaddr)) THEN 'unknown_private' ELSE 'external' END) AS dst_owner_kind,
  COALESCE(d1.owner_id, d2.owner_id) AS dst_owner_id,
  COALESCE(d1.owner_name, d2.owner_name) AS dst_owner_name,
  CASE WHEN de.eni_id IS NOT NULL THEN 'certain' ELSE COALESCE(d1.certainty, d2.certainty) END AS dst_certainty,
  CASE WHEN d1.eni_id IS NULL AND d2.eni_id IS NOT NULL THEN
    CASE WHEN d2.owner_kind = 'ambiguous' THEN 'ambiguous' ELSE 'other_vpc' END END AS dst_flag
FROM flows f
LEFT JOIN inv_eni e
  ON e.eni_id = f.interface_id
 AND e.valid_from <= f."start" AND (e.valid_to IS NULL OR f."start" < e.valid_to)
LEFT JOIN inv_ip_owner s1
  ON s1.address = COALESCE(f.pkt_srcaddr, f.srcaddr) AND s1.vpc_id = e.vpc_id
 AND (s1.from_t IS NULL OR s1.from_t <= f."start") AND (s1.to_t IS NULL OR f."start" < s1.to_t)
LEFT JOIN inv_ip_owner s2
  ON s2.address = COALESCE(f.pkt_srcaddr, f.srcaddr) AND s2.vpc_id = '*'
 AND (s2.from_t IS NULL OR s2.from_t <= f."start") AND (s2.to_t IS NULL OR f."start" < s2.to_t)
LEFT JOIN inv_ip_owner d1
  ON d1.address = COALESCE(f.pkt_dstaddr, f.dstaddr) AND d1.vpc_id = e.vpc_id
 AND (d1.from_t IS NULL OR d1.from_t <= f."start") AND (d1.to_t IS NULL OR f."start" < d1.to_t)
LEFT JOIN inv_ip_owner d2
  ON d2.address = COALESCE(f.pkt_dstaddr, f.dstaddr) AND d2.vpc_id = '*'
 AND (d2.from_t IS NULL OR d2.from_t <= f."start") AND (d2.to_t IS NULL OR f."start" < d2.to_t)
LEFT JOIN evidence se
  ON se.eni_id = COALESCE(s1.eni_id, s2.eni_id) AND se.address = COALESCE(f.pkt_srcaddr, f.srcaddr)
 AND se.h = CAST(f."start" / 3600 AS BIGINT) AND se.ev_start <= f."end" AND f."start" <= se.ev_end
LEFT JOIN evidence de
  ON de.eni_id = COALESCE(d1.eni_id, d2.eni_id) AND de.address = COALESCE(f.pkt_dstaddr, f.dstaddr)
 AND de.h = CAST(f."start" / 3600 AS BIGINT) AND de.ev_start <= f."end" AND f."start" <= de.ev_end
