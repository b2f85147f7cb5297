-- Top talkers by destination address: who receives the most.
-- Sources are counted from an inner GROUP BY over (destination, source)
-- pairs rather than with COUNT(DISTINCT srcaddr), which keeps a set per
-- destination: with millions of destinations those sets do not fit in
-- memory, while both plain GROUP BYs spill to disk.
SELECT
  dstaddr,
  SUM(bytes) AS bytes,
  SUM(packets) AS packets,
  SUM(flows) AS flows,
  COUNT(srcaddr) AS sources,
  BOOL_AND(private) AS private
FROM (
  SELECT
    dstaddr,
    srcaddr,
    SUM(bytes) AS bytes,
    SUM(packets) AS packets,
    COUNT(*) AS flows,
    BOOL_AND(dstaddr_is_private) AS private
  FROM flows
  WHERE dstaddr IS NOT NULL
  GROUP BY dstaddr, srcaddr
) AS pairs
GROUP BY dstaddr
ORDER BY bytes DESC, dstaddr
