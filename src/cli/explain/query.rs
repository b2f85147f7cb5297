//! The SQL that finds the records to explain: REJECTs with the companion
//! and prior ACCEPTs found by joins (§2.3 step 5), or, for
//! `--silent-drops`, accepted egress records that never got an answer
//! (§2.8). Both order by start, so `--save` sees the days in order.

/// The query for the REJECTs matching `filter` (SQL on `flows`; `TRUE`
/// for all), or the silent-drop candidates.
pub(super) fn sql(silent_drops: bool, filter: &str) -> String {
    let query = if silent_drops { SILENT_QUERY } else { QUERY };
    query.replace("{where}", filter)
}

const QUERY: &str = r#"
WITH r AS (
  SELECT interface_id, flow_direction, srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr,
         srcport, dstport, protocol, tcp_flags, reject_reason, "start", "end"
  FROM flows
  WHERE action = 'REJECT' AND (log_status IS NULL OR log_status = 'OK') AND ({where})
),
a AS (
  SELECT interface_id, srcaddr, dstaddr, srcport, dstport, protocol, "start"
  FROM flows WHERE action = 'ACCEPT'
),
companion AS (
  SELECT DISTINCT r.interface_id, r.srcaddr, r.dstaddr, r.srcport, r.dstport, r.protocol, r."start"
  FROM r JOIN a
    ON a.interface_id = r.interface_id AND a.srcaddr = r.dstaddr AND a.dstaddr = r.srcaddr
   AND a.srcport = r.dstport AND a.dstport = r.srcport AND a.protocol = r.protocol
  WHERE a."start" >= r."start" - 600 AND a."start" <= r."end"
),
prior AS (
  SELECT DISTINCT r.interface_id, r.srcaddr, r.dstaddr, r.srcport, r.dstport, r.protocol, r."start"
  FROM r JOIN a
    ON a.interface_id = r.interface_id AND a.srcaddr = r.srcaddr AND a.dstaddr = r.dstaddr
   AND a.srcport = r.srcport AND a.dstport = r.dstport AND a.protocol = r.protocol
  WHERE a."start" >= r."start" - 600 AND a."start" < r."start"
)
SELECT r.*, c.interface_id IS NOT NULL AS has_companion, p.interface_id IS NOT NULL AS has_prior_accept
FROM r
LEFT JOIN companion c
  ON c.interface_id = r.interface_id AND c.srcaddr = r.srcaddr AND c.dstaddr = r.dstaddr
 AND c.srcport = r.srcport AND c.dstport = r.dstport AND c.protocol = r.protocol AND c."start" = r."start"
LEFT JOIN prior p
  ON p.interface_id = r.interface_id AND p.srcaddr = r.srcaddr AND p.dstaddr = r.dstaddr
 AND p.srcport = r.srcport AND p.dstport = r.dstport AND p.protocol = r.protocol AND p."start" = r."start"
ORDER BY r."start", r.interface_id, r.srcaddr, r.dstaddr, r.srcport, r.dstport
"#;

const SILENT_QUERY: &str = r#"
WITH e AS (
  SELECT interface_id, flow_direction, srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr,
         srcport, dstport, protocol, tcp_flags, reject_reason, "start", "end"
  FROM flows
  WHERE action = 'ACCEPT' AND flow_direction = 'egress' AND ({where})
),
i AS (
  SELECT srcaddr, dstaddr, srcport, dstport, protocol, "start"
  FROM flows WHERE flow_direction = 'ingress'
),
answered AS (
  SELECT DISTINCT e.interface_id, e.srcaddr, e.dstaddr, e.srcport, e.dstport, e.protocol, e."start"
  FROM e JOIN i
    ON i.srcaddr = COALESCE(e.pkt_dstaddr, e.dstaddr) AND i.dstaddr = COALESCE(e.pkt_srcaddr, e.srcaddr)
   AND i.srcport = e.dstport AND i.dstport = e.srcport AND i.protocol = e.protocol
  WHERE i."start" >= e."start" - 600 AND i."start" <= e."end" + 600
)
SELECT e.*, false AS has_companion, false AS has_prior_accept
FROM e LEFT JOIN answered a
  ON a.interface_id = e.interface_id AND a.srcaddr = e.srcaddr AND a.dstaddr = e.dstaddr
 AND a.srcport = e.srcport AND a.dstport = e.dstport AND a.protocol = e.protocol AND a."start" = e."start"
WHERE a.interface_id IS NULL
ORDER BY e."start", e.interface_id, e.srcaddr, e.dstaddr, e.srcport, e.dstport
"#;
