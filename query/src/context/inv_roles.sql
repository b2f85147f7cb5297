-- Interface roles for counting once (spec §4.2), from the inventory:
-- NAT gateways translate; Transit Gateway attachments, GWLB endpoints,
-- NLBs and any interface with source/destination check off forward;
-- everything else is an endpoint.
SELECT eni_id, valid_from, valid_to, primary_ip,
  CASE
    WHEN interface_type IN ('nat_gateway', 'natGateway') OR owner_kind = 'nat_gateway' THEN 'translator'
    WHEN interface_type IN ('transit_gateway', 'gateway_load_balancer_endpoint', 'network_load_balancer', 'gateway_load_balancer')
      OR owner_kind IN ('tgw_attachment', 'nlb', 'gwlb')
      OR source_dest_check = false THEN 'forwarder'
    ELSE 'endpoint'
  END AS role
FROM inv_eni
