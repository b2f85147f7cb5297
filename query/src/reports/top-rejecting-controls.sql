-- REJECTs by verdict and control (security groups, network ACL rule): what rejects most. Needs `flowlake explain --save`.
-- Reads reject_explanations. The control is the security groups for the
-- SG and BOTH verdicts and the network ACL with its deciding rule for
-- NACL, NACL_RETURN and BOTH; other verdicts (BPA, AFTER_CLOSE,
-- UNEXPLAINED, ...) name no control and group by verdict and code alone.
-- first_seen and last_seen are Unix seconds (the records' start and end);
-- example is one record's one-line explanation (the smallest, so every
-- engine picks the same one).
SELECT
  verdict,
  code,
  security_groups,
  acl_id,
  acl_rule,
  COUNT(*) AS records,
  COUNT(DISTINCT srcaddr) AS sources,
  MIN("start") AS first_seen,
  MAX("end") AS last_seen,
  MIN(summary) AS example
FROM (
  SELECT
    verdict,
    code,
    CASE WHEN verdict IN ('SG', 'BOTH') THEN sg_ids END AS security_groups,
    CASE WHEN verdict IN ('NACL', 'NACL_RETURN', 'BOTH') THEN acl_id END AS acl_id,
    CASE WHEN verdict IN ('NACL', 'NACL_RETURN', 'BOTH') THEN rule_text END AS acl_rule,
    srcaddr,
    "start",
    "end",
    summary
  FROM reject_explanations
) AS e
GROUP BY verdict, code, security_groups, acl_id, acl_rule
ORDER BY records DESC, verdict, code, security_groups, acl_id, acl_rule
