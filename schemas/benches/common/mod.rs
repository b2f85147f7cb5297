//! Flow log lines for the benches.
#![allow(dead_code, reason = "each bench uses some of these")]

use std::fmt::Write;

/// Realistic default-format lines: varied addresses, ports and counters, a
/// share of REJECTs and NODATA.
pub(crate) fn default_lines(n: usize) -> String {
    lines(n, u64::MAX)
}

/// The same with at most `conversations` distinct (interface, source,
/// destination) triples, as traffic that repeats its peers has.
pub(crate) fn lines(n: usize, conversations: u64) -> String {
    let mut text = String::with_capacity(n * 110);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let c = x % conversations;
        if i % 100 == 0 {
            let _ = writeln!(
                text,
                "2 123456789012 eni-0123456789abcdef0 - - - - - - - 1716595200 1716595260 - NODATA"
            );
            continue;
        }
        let _ = writeln!(
            text,
            "2 123456789012 eni-0{:016x} 10.{}.{}.{} {}.{}.{}.{} {} 443 6 {} {} {} {} {} OK",
            c % 6,
            c % 4,
            (c >> 8) % 250,
            (c >> 16) % 250,
            52 + (c >> 24) % 100,
            (c >> 32) % 256,
            (c >> 40) % 256,
            (c >> 48) % 256,
            32768 + (x % 28000),
            1 + x % 40,
            52 + x % 50000,
            1716595200 + (x % 300),
            1716595260 + (x % 300),
            if x.is_multiple_of(8) {
                "REJECT"
            } else {
                "ACCEPT"
            },
        );
    }
    text
}
