-- Destination ports with the most rejected flows: what is being knocked on.
-- Sources and targets are counted as the rows of two inner GROUP BYs, one
-- per (port, source) and one per (port, target), rather than with
-- COUNT(DISTINCT ...), whose sets for a port scanned from millions of
-- addresses do not fit in memory; plain GROUP BYs spill to disk. The
-- second part adds no flows, only its targets.
SELECT
  dstport,
  protocol,
  SUM(flows) AS flows,
  COUNT(srcaddr) AS sources,
  COUNT(dstaddr) AS targets,
  SUM(packets) AS packets
FROM (
  SELECT
    dstport,
    protocol_name AS protocol,
    srcaddr,
    NULL AS dstaddr,
    COUNT(*) AS flows,
    SUM(packets) AS packets
  FROM flows
  WHERE action = 'REJECT'
  GROUP BY dstport, protocol_name, srcaddr
  UNION ALL
  SELECT
    dstport,
    protocol_name,
    NULL,
    dstaddr,
    0,
    NULL
  FROM flows
  WHERE action = 'REJECT'
  GROUP BY dstport, protocol_name, dstaddr
) AS parts
GROUP BY dstport, protocol
ORDER BY flows DESC, dstport, protocol
