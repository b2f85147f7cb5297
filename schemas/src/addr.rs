//! Address facts that ingest stores and SQL asks about: is it an address, is
//! it private, is it inside a CIDR block. One implementation serves the parser
//! (which validates every address and derives `srcaddr_is_private`) and the
//! query crate's `is_private` / `cidr_contains` functions, so both agree.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses an IPv4 or IPv6 address. IPv4 dotted quads take a fast path because
/// the parser calls this twice per record.
pub fn parse_addr(text: &str) -> Option<IpAddr> {
    parse_addr_bytes(text.as_bytes())
}

/// [`parse_addr`] on bytes, as the line parser holds them.
pub fn parse_addr_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4(bytes) {
        return Some(IpAddr::V4(v4));
    }
    std::str::from_utf8(bytes)
        .ok()?
        .parse::<Ipv6Addr>()
        .ok()
        .map(IpAddr::V6)
}

fn parse_ipv4(bytes: &[u8]) -> Option<Ipv4Addr> {
    if bytes.len() < 7 || bytes.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut parts = bytes.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 {
            return None;
        }
        let mut value: u32 = 0;
        for &b in part {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            value = value * 10 + u32::from(digit);
        }
        *octet = u8::try_from(value).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// True for RFC 1918 IPv4 space (10/8, 172.16/12, 192.168/16) and IPv6 unique
/// local addresses (fc00::/7): the ranges a VPC's own hosts use. Public,
/// loopback, link-local and carrier-grade NAT space are not private here.
pub fn is_private(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// True for an address on the internet, as alert rules mean it: anything
/// but RFC 1918 and IPv6 ULA space, RFC 6598 shared space (100.64/10, carrier
/// NAT), loopback, link-local and the unspecified address. Documentation
/// ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) count as
/// internet, so examples and tests behave like real traffic.
pub fn is_internet(addr: IpAddr) -> bool {
    if is_private(addr) || addr.is_loopback() || addr.is_unspecified() {
        return false;
    }
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let shared = a == 100 && (64..128).contains(&b);
            !(shared || v4.is_link_local())
        }
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
    }
}

/// A CIDR block such as `10.0.0.0/8` or `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/prefix`; a bare address is a /32 or /128.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (parse_addr(a.trim())?, p.trim().parse::<u8>().ok()?),
            None => {
                let a = parse_addr(text.trim())?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr {
            network: addr,
            prefix,
        })
    }

    /// True when `addr` lies inside the block (an IPv4 address is never inside
    /// an IPv6 block, and the reverse).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                (u32::from(net) & mask) == (u32::from(a) & mask)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                (u128::from(net) & mask) == (u128::from(a) & mask)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internet_is_everything_but_private_shared_and_local_space() {
        let internet = |a: &str| is_internet(a.parse().unwrap());
        for yes in [
            "203.0.113.9",
            "198.51.100.1",
            "8.8.8.8",
            "100.128.0.1",
            "2001:db8::1",
            "2600::1",
        ] {
            assert!(internet(yes), "{yes}");
        }
        for no in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::",
        ] {
            assert!(!internet(no), "{no}");
        }
    }

    #[test]
    fn parses_both_families_and_rejects_junk() {
        assert_eq!(parse_addr("10.0.0.1"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(
            parse_addr("2001:db8::1"),
            Some("2001:db8::1".parse().unwrap())
        );
        for bad in [
            "",
            "10.0.0",
            "10.0.0.256",
            "1.2.3.4.5",
            "10..0.1",
            "http",
            "1234.1.1.1",
            "10.0.0.1 ",
        ] {
            assert_eq!(parse_addr(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn private_means_rfc1918_or_ula() {
        for p in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "fd00::1",
            "fc12::",
        ] {
            assert!(is_private(parse_addr(p).unwrap()), "{p}");
        }
        for p in [
            "172.32.0.1",
            "8.8.8.8",
            "100.64.0.1",
            "127.0.0.1",
            "2001:db8::1",
            "fe80::1",
        ] {
            assert!(!is_private(parse_addr(p).unwrap()), "{p}");
        }
    }

    #[test]
    fn cidr_membership() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(parse_addr("10.255.0.1").unwrap()));
        assert!(!c.contains(parse_addr("11.0.0.1").unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains(parse_addr("1.2.3.4").unwrap())
        );
        assert!(
            Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains(parse_addr("2001:db8:1::5").unwrap())
        );
        assert!(!c.contains(parse_addr("::1").unwrap()));
        assert!(
            Cidr::parse("1.2.3.4")
                .unwrap()
                .contains(parse_addr("1.2.3.4").unwrap())
        );
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
    }
}
