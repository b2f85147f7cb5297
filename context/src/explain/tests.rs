use super::*;

#[test]
fn packet_kinds_follow_flags_and_companions() {
    let input = |flags, companion, prior| RejectInput {
        interface_id: "eni-1".to_owned(),
        direction: None,
        srcaddr: None,
        dstaddr: None,
        pkt_srcaddr: None,
        pkt_dstaddr: None,
        dstport: None,
        protocol: Some(6),
        tcp_flags: Some(flags),
        reject_reason: None,
        has_companion: companion,
        has_prior_accept: prior,
        at: 0,
    };
    assert_eq!(packet_kind(&input(18, false, false), 6), PacketKind::Reply);
    assert_eq!(packet_kind(&input(2, true, false), 6), PacketKind::Reply);
    assert_eq!(packet_kind(&input(1, false, true), 6), PacketKind::Late);
    assert_eq!(packet_kind(&input(1, false, false), 6), PacketKind::New);
    assert_eq!(packet_kind(&input(2, false, true), 6), PacketKind::New);
    // UDP and ICMP: only a companion makes a reply.
    assert_eq!(packet_kind(&input(18, false, false), 17), PacketKind::New);
}
