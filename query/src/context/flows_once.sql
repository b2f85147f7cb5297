-- Every flow record classified so that each conversation's bytes count
-- once (spec/network-context.md §4): origin, destination, transit (one
-- interface per key and window), translated (the NAT's outside legs) or
-- duplicate; `counted` says which to sum. Interface roles come from the
-- inventory (inv_roles) when it has them, else the v11 interface-type,
-- else the stated heuristic: no instance id and packet addresses that
-- differ from the interface's own make a forwarder, whose own address
-- in pkt-* makes it a translator. Records without a direction are
-- `unclassified` and counted (the report warns).
WITH f AS (
  SELECT *,
    COALESCE(pkt_srcaddr, srcaddr) AS orig_src,
    COALESCE(pkt_dstaddr, dstaddr) AS orig_dst,
    CAST("start" / 3600 AS BIGINT) AS h
  FROM flows
  WHERE log_status IS NULL OR log_status = 'OK'
),
heuristic AS (
  SELECT interface_id, h,
    bool_and(instance_id IS NULL OR instance_id = '-') AS no_instance,
    bool_or((flow_direction = 'egress' AND srcaddr <> pkt_srcaddr)
         OR (flow_direction = 'ingress' AND dstaddr <> pkt_dstaddr)) AS rewrites,
    max(interface_type) AS v11_type
  FROM f GROUP BY interface_id, h
),
own AS (
  SELECT DISTINCT interface_id, h, CASE WHEN flow_direction = 'egress' THEN srcaddr ELSE dstaddr END AS addr
  FROM f WHERE flow_direction IN ('egress', 'ingress')
  UNION
  SELECT DISTINCT f.interface_id, f.h, i.primary_ip AS addr
  FROM f JOIN inv_roles i ON i.eni_id = f.interface_id
   AND i.valid_from <= f."start" AND (i.valid_to IS NULL OR f."start" < i.valid_to)
  WHERE i.primary_ip IS NOT NULL
),
own_in_pkt AS (
  SELECT o.interface_id, o.h
  FROM own o JOIN f ON f.interface_id = o.interface_id AND f.h = o.h
   AND (f.pkt_srcaddr = o.addr OR f.pkt_dstaddr = o.addr)
  GROUP BY o.interface_id, o.h
),
inventory_role AS (
  SELECT f.interface_id, f.h, max(i.role) AS role
  FROM f JOIN inv_roles i ON i.eni_id = f.interface_id
   AND i.valid_from <= f."start" AND (i.valid_to IS NULL OR f."start" < i.valid_to)
  GROUP BY f.interface_id, f.h
),
roles AS (
  SELECT x.interface_id, x.h,
    COALESCE(
      ir.role,
      CASE
        WHEN x.v11_type IN ('nat_gateway', 'natGateway') THEN 'translator'
        WHEN x.v11_type IN ('transit_gateway', 'gateway_load_balancer_endpoint', 'network_load_balancer') THEN 'forwarder'
        WHEN x.v11_type IS NOT NULL THEN 'endpoint'
      END,
      CASE
        WHEN x.no_instance AND x.rewrites AND p.interface_id IS NOT NULL THEN 'translator'
        WHEN x.no_instance AND x.rewrites THEN 'forwarder'
        ELSE 'endpoint'
      END) AS eni_role,
    CASE WHEN ir.role IS NOT NULL THEN 'inventory' WHEN x.v11_type IS NOT NULL THEN 'v11' ELSE 'heuristic' END AS role_source
  FROM heuristic x
  LEFT JOIN own_in_pkt p ON p.interface_id = x.interface_id AND p.h = x.h
  LEFT JOIN inventory_role ir ON ir.interface_id = x.interface_id AND ir.h = x.h
),
monitored AS (
  SELECT DISTINCT e.h + d.o AS h, e.addr
  FROM (
    SELECT f.h, f.srcaddr AS addr FROM f JOIN roles r ON r.interface_id = f.interface_id AND r.h = f.h
    WHERE r.eni_role = 'endpoint' AND f.flow_direction = 'egress'
    UNION ALL
    SELECT f.h, f.pkt_srcaddr FROM f JOIN roles r ON r.interface_id = f.interface_id AND r.h = f.h
    WHERE r.eni_role = 'endpoint' AND f.flow_direction = 'egress'
    UNION ALL
    SELECT f.h, f.dstaddr FROM f JOIN roles r ON r.interface_id = f.interface_id AND r.h = f.h
    WHERE r.eni_role = 'endpoint' AND f.flow_direction = 'ingress'
    UNION ALL
    SELECT f.h, f.pkt_dstaddr FROM f JOIN roles r ON r.interface_id = f.interface_id AND r.h = f.h
    WHERE r.eni_role = 'endpoint' AND f.flow_direction = 'ingress'
  ) AS e
  CROSS JOIN (VALUES (-1), (0), (1)) AS d(o)
  WHERE e.addr IS NOT NULL
),
c AS (
  SELECT f.*, COALESCE(r.eni_role, 'endpoint') AS eni_role, COALESCE(r.role_source, 'heuristic') AS role_source,
    ms.addr IS NOT NULL AS src_monitored,
    md.addr IS NOT NULL AS dst_monitored,
    (o1.addr IS NOT NULL OR o2.addr IS NOT NULL) AS touches_own
  FROM f
  LEFT JOIN roles r ON r.interface_id = f.interface_id AND r.h = f.h
  LEFT JOIN monitored ms ON ms.h = f.h AND ms.addr = f.orig_src
  LEFT JOIN monitored md ON md.h = f.h AND md.addr = f.orig_dst
  LEFT JOIN own o1
    ON o1.interface_id = f.interface_id AND o1.h = f.h AND o1.addr = f.orig_src
  LEFT JOIN own o2
    ON o2.interface_id = f.interface_id AND o2.h = f.h AND o2.addr = f.orig_dst
),
first_pass AS (
  SELECT c.*,
    CASE
      WHEN flow_direction IS NULL OR flow_direction NOT IN ('egress', 'ingress') THEN 'unclassified'
      WHEN eni_role = 'endpoint' AND flow_direction = 'egress' THEN 'origin'
      WHEN eni_role = 'endpoint' AND NOT src_monitored THEN 'destination'
      WHEN eni_role = 'endpoint' THEN 'duplicate'
      WHEN eni_role = 'translator' AND touches_own THEN 'translated'
      WHEN NOT touches_own AND NOT src_monitored AND NOT dst_monitored THEN 'transit'
      ELSE 'duplicate'
    END AS first_observation
  FROM c
),
kept AS (
  SELECT first_pass.*,
    min(CASE WHEN first_observation = 'transit' THEN interface_id END) OVER (
      PARTITION BY protocol, orig_src, orig_dst, srcport, dstport
      ORDER BY "start" RANGE BETWEEN 600 PRECEDING AND 600 FOLLOWING
    ) AS transit_keeper
  FROM first_pass
)
SELECT * EXCEPT (first_observation, transit_keeper, src_monitored, dst_monitored, touches_own, h),
  CASE WHEN first_observation = 'transit' AND interface_id <> transit_keeper THEN 'duplicate'
       ELSE first_observation END AS observation,
  (first_observation IN ('origin', 'destination', 'unclassified')
    OR (first_observation = 'transit' AND interface_id = transit_keeper)) AS counted
FROM kept
