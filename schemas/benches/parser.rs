//! Parser throughput: default-format and 29-field custom-format lines to
//! Arrow batches (no gunzip, no Parquet). `cargo bench -p flowlake-schemas`.

use std::fmt::Write;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowlake_schemas::{DEFAULT_BATCH_SIZE, Decoder, Format};

/// Realistic default-format lines: varied addresses, ports and counters, a
/// share of REJECTs and NODATA.
fn default_lines(n: usize) -> String {
    let mut text = String::with_capacity(n * 110);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
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
            x % 6,
            x % 4,
            (x >> 8) % 250,
            (x >> 16) % 250,
            52 + (x >> 24) % 100,
            (x >> 32) % 256,
            (x >> 40) % 256,
            (x >> 48) % 256,
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

fn bench(c: &mut Criterion) {
    let text = default_lines(200_000);
    let mut group = c.benchmark_group("parser");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("default_format_200k_lines", |b| {
        b.iter(|| {
            let mut d = Decoder::new(Format::default_vpc(), 1, DEFAULT_BATCH_SIZE);
            for chunk in text.as_bytes().chunks(4 << 20) {
                d.decode(chunk);
                black_box(d.take_batches());
            }
            d.finish();
            black_box(d.take_batches());
        })
    });

    // The same records behind a header that reorders the fields.
    let header = "log-status action end start bytes packets protocol dstport srcport dstaddr srcaddr interface-id account-id version";
    let mut reordered = String::with_capacity(text.len() + header.len() + 1);
    reordered.push_str(header);
    reordered.push('\n');
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').rev().collect();
        reordered.push_str(&fields.join(" "));
        reordered.push('\n');
    }
    group.bench_function("reordered_header_200k_lines", |b| {
        b.iter(|| {
            let mut d = Decoder::new(Format::default_vpc(), 1, DEFAULT_BATCH_SIZE);
            d.decode(reordered.as_bytes());
            d.finish();
            black_box(d.take_batches());
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
