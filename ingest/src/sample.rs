//! Synthetic flow logs for the demo, the tests and the benchmark, laid out
//! exactly as AWS delivers them to S3:
//!
//! ```text
//! AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<account>_vpcflowlogs_<region>_<fl-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz
//! ```
//!
//! Each object is gzip text with a header line. The traffic is shaped like a
//! real VPC's: a few hosts move most of the bytes (power-law talkers), about
//! one record in eight is a REJECT (scanners, SSH and RDP from the internet,
//! blocked database ports), about 1 % are NODATA and 0.2 % SKIPDATA, spread
//! over several accounts, regions, interfaces and hours. One flow log in four
//! uses a custom version-5 format in alphabetical field order, as the console
//! writes it. Output is a pure function of the seed and the parameters.
//!
//! High-cardinality traffic, as real VPCs see it (clients reaching many
//! internet hosts, scanners from many addresses), is opt-in:
//! [`SampleSpec::distinct_destinations`] and
//! [`SampleSpec::distinct_sources`] turn that many records, spread evenly
//! over the sample, into HTTPS to (or rejected probes from) that many
//! different public addresses, each used once.
//!
//! A `manifest.json` beside `AWSLogs/` lists every object with its record and
//! header-line counts, so tests can check ingest's counts against it.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Timelike};
use flowlake_schemas::Format;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleSpec {
    /// Records in total (headers not counted).
    pub records: u64,
    /// Objects to spread them over (0: about 100,000 records each, at least 12).
    pub objects: u64,
    /// Seed; the same seed and parameters give the same bytes.
    pub seed: u64,
    /// First hour (UTC, Unix seconds) of the traffic.
    pub start: i64,
    /// Hours the traffic spans.
    pub hours: u32,
    /// gzip level (1–12, libdeflate).
    pub gzip_level: i32,
    /// One flow log in four writes a custom v5 format (alphabetical order);
    /// off, every object is in the default format (for benchmarks that
    /// compare with generic CSV readers).
    pub mixed_formats: bool,
    /// This many records (at most `records`) are outbound HTTPS to as many
    /// different public addresses, one each, on top of the usual traffic's
    /// few thousand destinations; 0 for none.
    pub distinct_destinations: u64,
    /// This many records (at most `records`) are rejected probes from as
    /// many different public addresses, one each; 0 for none.
    pub distinct_sources: u64,
}

impl Default for SampleSpec {
    fn default() -> Self {
        SampleSpec {
            records: 100_000,
            objects: 0,
            seed: 42,
            start: 1_716_595_200, // 2024-05-25T00:00:00Z
            hours: 6,
            gzip_level: 6,
            mixed_formats: true,
            distinct_destinations: 0,
            distinct_sources: 0,
        }
    }
}

/// One generated object, as listed in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct SampleObject {
    /// Path relative to the output folder (the S3 key).
    pub path: String,
    /// Record lines.
    pub records: u64,
    /// Header lines (always 1).
    pub headers: u64,
    /// The object's format as a header line.
    pub format: String,
    /// Compressed size.
    pub bytes: u64,
}

/// The manifest written beside `AWSLogs/`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// The seed used.
    pub seed: u64,
    /// Total records.
    pub records: u64,
    /// Every object.
    pub objects: Vec<SampleObject>,
}

const ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const CUSTOM_V5: &str = "account-id action az-id bytes dstaddr dstport end flow-direction instance-id interface-id log-status packets pkt-dst-aws-service pkt-dstaddr pkt-src-aws-service pkt-srcaddr protocol region srcaddr srcport start sublocation-id sublocation-type subnet-id tcp-flags traffic-path type version vpc-id";

/// Writes the sample under `out` and returns its manifest.
pub fn generate(spec: &SampleSpec, out: &Path) -> io::Result<Manifest> {
    for (what, n) in [
        ("distinct destinations", spec.distinct_destinations),
        ("distinct sources", spec.distinct_sources),
    ] {
        if n > spec.records {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{n} {what} need as many records, but the sample has {}",
                    spec.records
                ),
            ));
        }
    }
    let objects = if spec.objects > 0 {
        spec.objects
    } else {
        spec.records.div_ceil(100_000).max(12)
    };
    let per_object = spec.records / objects;
    let extra = spec.records % objects;
    let windows = u64::from(spec.hours.max(1)) * 12;
    let results: Vec<io::Result<SampleObject>> = (0..objects)
        .into_par_iter()
        .map(|i| {
            let records = per_object + u64::from(i < extra);
            let flow_log = (i % 4) as usize;
            let window = i * windows / objects;
            let first_record = i * per_object + i.min(extra);
            write_object(spec, out, i, flow_log, window, first_record, records)
        })
        .collect();
    let objects = results.into_iter().collect::<io::Result<Vec<_>>>()?;
    let manifest = Manifest {
        seed: spec.seed,
        records: spec.records,
        objects,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    std::fs::write(out.join("manifest.json"), json)?;
    Ok(manifest)
}

/// A flow log: an account, a region, interfaces, and a format.
struct FlowLog {
    account: &'static str,
    region: &'static str,
    id: String,
    custom: bool,
}

fn flow_log(n: usize) -> FlowLog {
    FlowLog {
        account: ACCOUNTS[n % 2],
        region: REGIONS[(n / 2) % 2],
        id: format!("fl-0{:07x}{n}", 0xa11ce + n * 7919),
        custom: n == 3,
    }
}

struct Draw(ChaCha8Rng);

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift: uniform enough for test data, stable forever.
        ((u128::from(self.0.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }
    /// Power-law index in 0..n: low indexes are drawn far more often.
    fn skewed(&mut self, n: u64) -> u64 {
        let u = (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u * u * u) * n as f64) as u64
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

fn internal(account: usize, i: u64) -> String {
    format!(
        "10.{}.{}.{}",
        account * 16 + (i % 4) as usize,
        (i / 4) % 250,
        10 + i % 200
    )
}

fn external(i: u64) -> String {
    // Documentation and real-looking public ranges, never RFC 1918.
    let blocks = [
        (52, 94),
        (54, 239),
        (3, 5),
        (18, 204),
        (34, 117),
        (203, 0),
        (198, 51),
        (185, 220),
    ];
    let (a, b) = blocks[(i % blocks.len() as u64) as usize];
    format!("{a}.{b}.{}.{}", (i / 8) % 256, 1 + (i * 7) % 254)
}

/// The `index`-th of `n` slots spread evenly over `total` records, if record
/// `g` holds one: exactly `n` records get a slot, each a different index,
/// and which ones is a pure function of the position.
fn spread_slot(g: u64, n: u64, total: u64) -> Option<u64> {
    if n == 0 || total == 0 {
        return None;
    }
    let at = |g: u64| (u128::from(g) * u128::from(n) / u128::from(total)) as u64;
    (at(g + 1) > at(g)).then(|| at(g))
}

/// A public IPv4 address, different for each `index` below 2^28, spread
/// over sixteen public /8s (one set for destinations, another for sources,
/// none of them RFC 1918 or used by [`external`]); `seed` permutes which
/// index gets which address.
fn wide_address(blocks: &[u8; 16], index: u64, n: u64, seed: u64) -> String {
    // A bijection on 0..n: multiplying by a prime above any n coprime with it.
    const PRIME: u128 = 2_654_435_761;
    let i = ((u128::from(index) * PRIME + u128::from(seed)) % u128::from(n.max(1))) as u64;
    let rest = i / 16;
    format!(
        "{}.{}.{}.{}",
        blocks[(i % 16) as usize],
        (rest >> 16) & 255,
        (rest >> 8) & 255,
        rest & 255
    )
}

const WIDE_DESTINATIONS: [u8; 16] = [
    23, 31, 45, 62, 81, 89, 91, 104, 142, 151, 176, 188, 193, 212, 217, 13,
];
const WIDE_SOURCES: [u8; 16] = [
    5, 27, 37, 41, 46, 61, 77, 78, 79, 80, 84, 85, 86, 87, 94, 95,
];

/// Addresses this record must use, from the high-cardinality slots.
#[derive(Default)]
struct Wide {
    src: Option<String>,
    dst: Option<String>,
}

struct Record {
    src: String,
    dst: String,
    srcport: u32,
    dstport: u32,
    protocol: u32,
    packets: u64,
    bytes: u64,
    action: &'static str,
    status: &'static str,
    tcp_flags: u32,
    direction: &'static str,
}

fn draw_record(d: &mut Draw, account: usize, wide: Wide) -> Record {
    let mut r = Record {
        src: String::new(),
        dst: String::new(),
        srcport: 0,
        dstport: 0,
        protocol: 6,
        packets: 0,
        bytes: 0,
        action: "ACCEPT",
        status: "OK",
        tcp_flags: 0,
        direction: "egress",
    };
    let kind = if wide.src.is_some() {
        900 // a port scan, from the wide source
    } else if wide.dst.is_some() {
        0 // outbound HTTPS, to the wide destination
    } else {
        d.below(1000)
    };
    match kind {
        // Outbound HTTPS from internal hosts: the bulk of the bytes.
        0..=449 => {
            r.src = internal(account, d.skewed(200));
            r.dst = external(d.skewed(3000));
            r.srcport = 32768 + d.below(28000) as u32;
            r.dstport = 443;
        }
        // Responses coming back in.
        450..=649 => {
            r.src = external(d.skewed(3000));
            r.dst = internal(account, d.skewed(200));
            r.srcport = 443;
            r.dstport = 32768 + d.below(28000) as u32;
            r.direction = "ingress";
        }
        // DNS and NTP.
        650..=749 => {
            r.src = internal(account, d.skewed(200));
            r.dst = if d.chance(500) {
                "10.0.0.2".into()
            } else {
                external(d.below(40))
            };
            r.protocol = 17;
            r.srcport = 32768 + d.below(28000) as u32;
            r.dstport = if d.chance(800) { 53 } else { 123 };
        }
        // East-west database and service traffic.
        750..=849 => {
            r.src = internal(account, d.skewed(200));
            r.dst = internal(account, d.below(20));
            r.srcport = 32768 + d.below(28000) as u32;
            r.dstport = [5432, 3306, 6379, 8080, 9092][d.below(5) as usize];
            r.direction = "ingress";
            if d.chance(60) {
                r.action = "REJECT";
            }
        }
        // SSH and RDP attempts from the internet, mostly rejected.
        850..=899 => {
            r.src = external(10_000 + d.skewed(400));
            r.dst = internal(account, d.below(200));
            r.srcport = 1024 + d.below(60000) as u32;
            r.dstport = if d.chance(700) { 22 } else { 3389 };
            r.direction = "ingress";
            if d.chance(850) {
                r.action = "REJECT";
            }
        }
        // Port scans: a few noisy sources, everything rejected.
        900..=959 => {
            r.src = external(20_000 + d.skewed(30));
            r.dst = internal(account, d.below(200));
            r.srcport = 1024 + d.below(60000) as u32;
            r.dstport =
                [23, 445, 1433, 3306, 5900, 6379, 8443, 9200, 27017, 2375][d.below(10) as usize];
            r.direction = "ingress";
            r.action = "REJECT";
        }
        // ICMP.
        960..=987 => {
            r.src = if d.chance(500) {
                internal(account, d.below(200))
            } else {
                external(d.below(3000))
            };
            r.dst = internal(account, d.below(200));
            r.protocol = 1;
            r.direction = "ingress";
            if d.chance(300) {
                r.action = "REJECT";
            }
        }
        988..=997 => r.status = "NODATA",
        _ => r.status = "SKIPDATA",
    }
    if let Some(src) = wide.src {
        r.src = src;
    }
    if let Some(dst) = wide.dst {
        r.dst = dst;
    }
    if r.status != "OK" {
        return r;
    }
    let heavy = if r.dstport == 443 || r.srcport == 443 {
        1 + d.skewed(2000)
    } else {
        1
    };
    r.packets = if r.action == "REJECT" {
        1 + d.below(3)
    } else {
        1 + d.below(40) * heavy
    };
    let size = if r.protocol == 17 {
        60 + d.below(200)
    } else {
        52 + d.below(1400)
    };
    r.bytes = r.packets * size;
    r.tcp_flags = match (r.protocol, r.action) {
        (6, "REJECT") => 2,
        (6, _) => [2, 18, 3, 19, 1, 0][d.below(6) as usize],
        _ => 0,
    };
    r
}

fn write_object(
    spec: &SampleSpec,
    out: &Path,
    index: u64,
    flow_log_index: usize,
    window: u64,
    first_record: u64,
    records: u64,
) -> io::Result<SampleObject> {
    let mut d = Draw(ChaCha8Rng::seed_from_u64(
        spec.seed ^ (index.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
    ));
    let mut fl = flow_log(flow_log_index);
    fl.custom &= spec.mixed_formats;
    let account = flow_log_index % 2;
    let stamp = spec.start + (window as i64) * 300;
    let time = DateTime::from_timestamp(stamp, 0).unwrap_or_default();
    let key = format!(
        "AWSLogs/{acct}/vpcflowlogs/{region}/{y:04}/{m:02}/{day:02}/{acct}_vpcflowlogs_{region}_{id}_{y:04}{m:02}{day:02}T{h:02}{min:02}Z_{hash:08x}.log.gz",
        acct = fl.account,
        region = fl.region,
        id = fl.id,
        y = time.year(),
        m = time.month(),
        day = time.day(),
        h = time.hour(),
        min = time.minute(),
        hash = (d.0.next_u64() >> 32) as u32,
    );
    let format = if fl.custom {
        CUSTOM_V5.to_owned()
    } else {
        Format::default_vpc().to_string()
    };
    let enis: Vec<String> = (0..6)
        .map(|e| {
            format!(
                "eni-0{:016x}",
                (flow_log_index as u64 + 1) * 0x1000_0000 + e * 0x10_0001
            )
        })
        .collect();
    let mut text = String::with_capacity(records as usize * 110 + 300);
    text.push_str(&format);
    text.push('\n');
    for g in first_record..first_record + records {
        let wide = Wide {
            src: spread_slot(g, spec.distinct_sources, spec.records)
                .map(|i| wide_address(&WIDE_SOURCES, i, spec.distinct_sources, spec.seed)),
            dst: spread_slot(g, spec.distinct_destinations, spec.records).map(|i| {
                wide_address(&WIDE_DESTINATIONS, i, spec.distinct_destinations, spec.seed)
            }),
        };
        let r = draw_record(&mut d, account, wide);
        let end = stamp + d.below(300) as i64;
        let start = end - d.below(60) as i64;
        let eni_index = d.skewed(6) as usize;
        let eni = &enis[eni_index];
        let dash = |v: u64| {
            if r.status == "OK" {
                v.to_string()
            } else {
                "-".to_owned()
            }
        };
        let (src, dst) = if r.status == "OK" {
            (r.src.as_str(), r.dst.as_str())
        } else {
            ("-", "-")
        };
        let action = if r.status == "OK" { r.action } else { "-" };
        if fl.custom {
            let vpc = format!("vpc-0{:016x}", flow_log_index);
            let subnet = format!("subnet-0{:016x}", flow_log_index * 16 + eni_index);
            let instance = format!("i-0{:016x}", flow_log_index * 256 + eni_index);
            let az = format!(
                "{}-az{}",
                if fl.region == "us-east-1" {
                    "use1"
                } else {
                    "euw1"
                },
                1 + eni_index % 3
            );
            let flags = if r.status == "OK" && r.protocol == 6 {
                r.tcp_flags.to_string()
            } else {
                "-".into()
            };
            let path = if r.direction == "egress" && r.status == "OK" {
                "2"
            } else {
                "-"
            };
            let ip_type = if r.status == "OK" { "IPv4" } else { "-" };
            let direction = if r.status == "OK" { r.direction } else { "-" };
            let dst_service = if r.dstport == 443 && d.chance(100) {
                "S3"
            } else {
                "-"
            };
            let _ = writeln!(
                text,
                "{acct} {action} {az} {bytes} {dst} {dport} {end} {direction} {instance} {eni} {status} {packets} {dst_service} {dst} - {src} {proto} {region} {src} {sport} {start} - - {subnet} {flags} {path} {ip_type} 5 {vpc}",
                acct = fl.account,
                bytes = dash(r.bytes),
                dport = dash(u64::from(r.dstport)),
                status = r.status,
                packets = dash(r.packets),
                proto = dash(u64::from(r.protocol)),
                region = fl.region,
                sport = dash(u64::from(r.srcport)),
            );
        } else {
            let _ = writeln!(
                text,
                "2 {acct} {eni} {src} {dst} {sport} {dport} {proto} {packets} {bytes} {start} {end} {action} {status}",
                acct = fl.account,
                sport = dash(u64::from(r.srcport)),
                dport = dash(u64::from(r.dstport)),
                proto = dash(u64::from(r.protocol)),
                packets = dash(r.packets),
                bytes = dash(r.bytes),
                status = r.status,
            );
        }
    }
    let level = libdeflater::CompressionLvl::new(spec.gzip_level).unwrap_or_default();
    let mut compressor = libdeflater::Compressor::new(level);
    let mut gz = vec![0u8; compressor.gzip_compress_bound(text.len())];
    let n = compressor
        .gzip_compress(text.as_bytes(), &mut gz)
        .map_err(|e| io::Error::other(format!("gzip: {e:?}")))?;
    gz.truncate(n);
    let path: PathBuf = out.join(&key);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, &gz)?;
    Ok(SampleObject {
        path: key,
        records,
        headers: 1,
        format,
        bytes: n as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_counted() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let spec = SampleSpec {
            records: 2_000,
            objects: 5,
            ..SampleSpec::default()
        };
        let ma = generate(&spec, a.path()).unwrap();
        let mb = generate(&spec, b.path()).unwrap();
        assert_eq!(ma.objects.iter().map(|o| o.records).sum::<u64>(), 2_000);
        for (x, y) in ma.objects.iter().zip(&mb.objects) {
            assert_eq!(x.path, y.path);
            let bytes_a = std::fs::read(a.path().join(&x.path)).unwrap();
            let bytes_b = std::fs::read(b.path().join(&y.path)).unwrap();
            assert_eq!(bytes_a, bytes_b);
        }
        assert!(ma.objects.iter().any(|o| o.format == CUSTOM_V5));
    }

    #[test]
    fn high_cardinality_gives_exactly_the_distinct_addresses_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let spec = SampleSpec {
            records: 3_000,
            objects: 4,
            mixed_formats: false,
            distinct_destinations: 1_700,
            distinct_sources: 600,
            ..SampleSpec::default()
        };
        let manifest = generate(&spec, dir.path()).unwrap();
        assert_eq!(
            manifest.objects.iter().map(|o| o.records).sum::<u64>(),
            3_000
        );
        let (mut dst, mut src) = (
            std::collections::HashSet::new(),
            std::collections::HashSet::new(),
        );
        let mut lines = 0;
        for o in &manifest.objects {
            let gz = std::fs::read(dir.path().join(&o.path)).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
                .unwrap();
            for line in text.lines().skip(1) {
                lines += 1;
                let f: Vec<&str> = line.split(' ').collect();
                let first = |a: &str| a.split('.').next().and_then(|o| o.parse::<u8>().ok());
                if first(f[4]).is_some_and(|o| WIDE_DESTINATIONS.contains(&o)) {
                    dst.insert(f[4].to_owned());
                }
                if first(f[3]).is_some_and(|o| WIDE_SOURCES.contains(&o)) {
                    src.insert(f[3].to_owned());
                    assert_eq!(f[12], "REJECT", "{line}");
                }
            }
        }
        assert_eq!(lines, 3_000);
        assert_eq!(dst.len(), 1_700);
        assert_eq!(src.len(), 600);
    }
}
