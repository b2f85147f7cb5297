//! Parser throughput: default-format and 29-field custom-format lines to
//! Arrow batches (no gunzip, no Parquet). `cargo bench -p flowlake-schemas`.

mod common;

use std::hint::black_box;

use common::default_lines;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowlake_schemas::{DEFAULT_BATCH_SIZE, Decoder, Format};

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
