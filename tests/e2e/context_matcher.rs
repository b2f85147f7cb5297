//! The security-group and network-ACL matchers against an independent
//! implementation: the same rules as SQL in DuckDB (tests/py/sg_nacl_oracle.py),
//! over randomly generated rules and packets — both families, every
//! protocol kind, -1 wherever it may appear, the `*` rules, prefix lists.

use std::collections::HashMap;
use std::net::IpAddr;

use flowlake_context::matcher::{Match, Packet, PeerLookup, acl_decide, sg_rule_matches};
use flowlake_context::model::{AclEntry, Peer, SgRule};
use ipnet::IpNet;
use serde_json::{Value, json};

use crate::harness::*;

/// splitmix64: a seeded generator small enough to read.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Addresses cluster in a few networks so that rules and packets meet.
fn address(rng: &mut Rng, v6: bool) -> IpAddr {
    if v6 {
        let base: u128 = rng.pick(&[
            0x2001_0db8u128 << 96,
            0x2001_0db8_0001u128 << 80,
            0xfd00u128 << 112,
        ]);
        IpAddr::V6(std::net::Ipv6Addr::from(
            base | u128::from(rng.below(1 << 20)) << rng.pick(&[0u32, 16, 60]),
        ))
    } else {
        let base: u32 = rng.pick(&[0x0a00_0000, 0xc000_0200, 0xcb00_7100]);
        IpAddr::V4(std::net::Ipv4Addr::from(base | (rng.below(1 << 18) as u32)))
    }
}

fn cidr(rng: &mut Rng, v6: bool) -> IpNet {
    let len = if v6 {
        rng.pick(&[0u8, 32, 48, 64, 100, 128])
    } else {
        rng.pick(&[0u8, 8, 16, 20, 24, 28, 32])
    };
    IpNet::new(address(rng, v6), len).unwrap().trunc()
}

fn protocol(rng: &mut Rng) -> i32 {
    rng.pick(&[-1, 6, 6, 17, 1, 58, 50])
}

fn ports(rng: &mut Rng) -> (Option<i32>, Option<i32>) {
    match rng.below(4) {
        0 => (None, None),
        1 => (Some(-1), Some(-1)),
        _ => {
            let from = rng.pick(&[0, 22, 443, 1024, 32768, 8080]);
            (
                Some(from),
                Some(from + rng.pick(&[0, 0, 10, 1000, 33000]).min(65535 - from)),
            )
        }
    }
}

struct Lists(HashMap<String, Vec<IpNet>>);

impl PeerLookup for Lists {
    fn peer_contains(&self, peer: &Peer, remote: IpAddr) -> Match {
        let hit = |nets: &[IpNet]| {
            if nets.iter().any(|n| n.contains(&remote)) {
                Match::Yes
            } else {
                Match::No
            }
        };
        match peer {
            Peer::Cidr { cidr } => hit(std::slice::from_ref(cidr)),
            Peer::PrefixList { id } => self.0.get(id).map_or(Match::Maybe, |n| hit(n)),
            Peer::Group { .. } => Match::Maybe,
        }
    }
}

fn level(m: Match) -> u64 {
    match m {
        Match::No => 0,
        Match::Maybe => 1,
        Match::Yes => 2,
    }
}

#[test]
fn matchers_agree_with_sql_in_duckdb() {
    let Some(python) = python() else { return };
    let dir = scratch("context-matcher");
    let mut results: HashMap<&str, usize> = HashMap::new();
    let mut seen = [0usize; 3];
    for seed in [1u64, 2, 3] {
        let mut rng = Rng(seed);
        // Prefix lists: pl-1 and pl-2 with entries, pl-9 unknown.
        let mut lists = HashMap::new();
        let mut pl_rows = Vec::new();
        for id in ["pl-1", "pl-2"] {
            let nets: Vec<IpNet> = (0..3).map(|i| cidr(&mut rng, i == 2)).collect();
            for n in &nets {
                pl_rows.push(json!({"pl_id": id, "cidr": n.to_string()}));
            }
            lists.insert(id.to_owned(), nets);
        }
        let lists = Lists(lists);
        let mut rules = Vec::new();
        let mut rule_rows = Vec::new();
        for rid in 0..40 {
            let protocol = protocol(&mut rng);
            let (from_port, to_port) = if [1, 58].contains(&protocol) && rng.below(2) == 0 {
                (Some(rng.pick(&[-1, 0, 8])), Some(rng.pick(&[-1, 0])))
            } else {
                ports(&mut rng)
            };
            let peer = match rng.below(6) {
                0 => Peer::PrefixList {
                    id: rng.pick(&["pl-1", "pl-2", "pl-9"]).to_owned(),
                },
                n => Peer::Cidr {
                    cidr: cidr(&mut rng, n == 1),
                },
            };
            let mut row = json!({"rid": rid, "protocol": protocol, "from_port": from_port, "to_port": to_port});
            match &peer {
                Peer::Cidr { cidr } => row["cidr"] = Value::from(cidr.to_string()),
                Peer::PrefixList { id } => row["pl_id"] = Value::from(id.clone()),
                Peer::Group { .. } => unreachable!(),
            }
            rule_rows.push(row);
            rules.push(SgRule {
                rule_id: None,
                egress: false,
                protocol,
                from_port,
                to_port,
                peer,
                description: None,
            });
        }
        let mut entries = Vec::new();
        let mut entry_rows = Vec::new();
        for egress in [false, true] {
            let mut numbers: Vec<i32> = (0..25).map(|_| 1 + rng.below(400) as i32 * 10).collect();
            numbers.sort_unstable();
            numbers.dedup();
            for (i, n) in numbers.into_iter().chain([32767, 32768]).enumerate() {
                let star = n >= 32767;
                let v6 = if star { n == 32768 } else { i % 4 == 3 };
                let protocol = if star { -1 } else { protocol(&mut rng) };
                let net = if star {
                    IpNet::new(
                        if v6 {
                            "::".parse().unwrap()
                        } else {
                            "0.0.0.0".parse().unwrap()
                        },
                        0,
                    )
                    .unwrap()
                } else {
                    cidr(&mut rng, v6)
                };
                let port_range = ([6, 17].contains(&protocol) && rng.below(3) > 0).then(|| {
                    let from = rng.pick(&[0, 22, 443, 1024, 32768]);
                    (from, (from + rng.pick(&[0, 100, 40000])).min(65535))
                });
                let icmp = ([1, 58].contains(&protocol) && rng.below(2) == 0)
                    .then(|| (rng.pick(&[-1, 0, 8]), rng.pick(&[-1, 0])));
                let entry = AclEntry {
                    rule_number: n,
                    egress,
                    allow: !star && rng.below(3) > 0,
                    protocol,
                    cidr: net,
                    ports: port_range,
                    icmp,
                };
                entry_rows.push(json!({
                    "rule_number": n, "egress": egress, "allow": entry.allow, "protocol": protocol,
                    "cidr": net.to_string(), "port_from": port_range.map(|p| p.0), "port_to": port_range.map(|p| p.1),
                    "icmp_type": icmp.map(|i| i.0), "icmp_code": icmp.map(|i| i.1),
                }));
                entries.push(entry);
            }
        }
        let mut packets = Vec::new();
        let mut packet_rows = Vec::new();
        for pid in 0..400 {
            let v6 = rng.below(3) == 0;
            let protocol = rng.pick(&[6, 6, 17, 1, 58, 50]);
            let port = rng.pick(&[0, 22, 80, 443, 1023, 1024, 8080, 32767, 32768, 40000, 65535]);
            let egress = rng.below(2) == 0;
            let packet = Packet {
                protocol,
                port: Some(port),
                remote: address(&mut rng, v6),
            };
            packet_rows.push(json!({"pid": pid, "protocol": protocol, "port": port,
                "remote": packet.remote.to_string(), "egress": egress}));
            packets.push((packet, egress));
        }
        let input = dir.join(format!("case-{seed}.json"));
        std::fs::write(
            &input,
            json!({"sg_rules": rule_rows, "pl_entries": pl_rows, "acl_entries": entry_rows, "packets": packet_rows})
                .to_string(),
        )
        .unwrap();
        let oracle = py(&python, "sg_nacl_oracle.py", &[input.to_str().unwrap()]);
        for (pid, (packet, egress)) in packets.iter().enumerate() {
            let ours = rules
                .iter()
                .map(|r| level(sg_rule_matches(r, packet, &lists)))
                .max()
                .unwrap_or(0);
            let theirs = oracle["sg"][pid.to_string()].as_u64().unwrap();
            assert_eq!(
                ours, theirs,
                "seed {seed} packet {pid} {packet:?}: security groups"
            );
            seen[ours as usize] += 1;
            let decision = acl_decide(&entries, *egress, packet);
            let expected = &oracle["acl"][pid.to_string()];
            assert_eq!(
                (
                    decision.result(),
                    decision.decider.map(|e| i64::from(e.rule_number))
                ),
                (
                    expected["result"].as_str().unwrap(),
                    expected["decider"].as_i64()
                ),
                "seed {seed} packet {pid} {packet:?} egress {egress}: network ACL"
            );
            *results.entry(decision.result()).or_default() += 1;
        }
    }
    // The generator reaches every outcome, or the comparison proves little.
    assert!(seen.iter().all(|n| *n > 0), "{seen:?}");
    assert!(
        ["allow", "deny", "maybe"]
            .iter()
            .all(|r| results.get(r).copied().unwrap_or(0) > 0),
        "{results:?}"
    );
}
