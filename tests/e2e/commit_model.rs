//! A model-based test of the commit protocol, through the binary, on a
//! local lake.
//!
//! A seeded random sequence of operations (add objects, rewrite an object
//! with different records, make a new version unreadable, ingest, ingest with
//! a crash injected after a commit step, two ingests started at once) runs
//! against a source folder and a lake, while the test keeps a simple model:
//! for every object, the versions it has had (their records parsed by the
//! test from the raw lines it wrote) and which version is committed. After
//! each ingest the lake must agree with the model:
//!
//! (a) `flowlake sql` counts exactly the records of the committed versions
//!     (after a crash before an object's ledger entry: its old version, or
//!     nothing for a new object; after the entry: the new version);
//! (b) after a clean run, DuckDB reading every Parquet file under `flows/`
//!     sees each expected record exactly once (multisets of key columns);
//! (c) the ledger (`_flowlake/ledger/`) names one entry per committed object
//!     with that version's counts, its files are exactly the table's files,
//!     and the run's summary counts what the model says the run had to do.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

use crate::harness::*;

/// `FLOWLAKE_CRASH_AFTER` step names (ingest/src/lake/crashpoint.rs and the
/// new protocol in HELPERS.md). Each gets a crash block in every sequence;
/// steps the binary never reaches make the run complete normally, which the
/// test records and reports at the end.
const CRASH_STEPS: &[&str] = &[
    "intent",
    "publish",
    "quarantine",
    "ledger",
    "retire",
    "cleanup",
    "recover",
];

/// One sequence of operations per seed, each on a fresh source and lake.
/// `FLOWLAKE_MODEL_SEEDS=1,2,3` runs other seeds instead (to explore).
const SEEDS: &[u64] = &[0x2026_1201];

/// Columns compared between the raw records and the lake (lake names; the
/// raw field is the same name with `-` for `_`).
const KEY_COLUMNS: &[&str] = &[
    "interface_id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log_status",
];

/// A line every version with bad lines carries: two fields, so it is
/// rejected whatever the format (a fixture fact, not flowlake's verdict).
const BAD_LINE: &str = "bogus line";

/// splitmix64: a few lines of deterministic randomness, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// One version of an object's content, as the test wrote it.
struct Version {
    /// The decompressed text.
    text: Vec<u8>,
    /// Key columns of each record, parsed by the test from the raw lines.
    records: Vec<Vec<String>>,
    /// Lines, headers and blank lines by the harness's rule.
    raw: RawLines,
    /// Lines the test made bad.
    rejected: u64,
}

/// What is on disk for an object now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Disk {
    /// A readable version (index into `versions`).
    Good(usize),
    /// A new version whose gzip is cut short: its ingest must fail.
    Corrupt,
}

struct Object {
    /// Path under the source folder.
    rel: String,
    versions: Vec<Version>,
    disk: Disk,
    /// The version the lake holds, per the model.
    committed: Option<usize>,
}

/// Key columns of the records in raw text, by the header in force.
fn parse_records(text: &[u8]) -> Vec<Vec<String>> {
    let mut positions: Option<Vec<usize>> = None;
    let mut out = Vec::new();
    for line in raw_line_slices(text) {
        if line.iter().all(|&b| b == b' ') {
            continue;
        }
        if is_header_line(line) {
            let names: Vec<&str> = std::str::from_utf8(line)
                .unwrap()
                .split(' ')
                .filter(|t| !t.is_empty())
                .collect();
            positions = Some(
                KEY_COLUMNS
                    .iter()
                    .map(|c| {
                        let raw = c.replace('_', "-");
                        names.iter().position(|n| *n == raw).unwrap()
                    })
                    .collect(),
            );
            continue;
        }
        let text = std::str::from_utf8(line).unwrap();
        if text == BAD_LINE {
            continue;
        }
        let tokens: Vec<&str> = text.split(' ').filter(|t| !t.is_empty()).collect();
        let at = positions
            .as_ref()
            .expect("generated objects start with a header");
        out.push(at.iter().map(|&i| tokens[i].to_owned()).collect());
    }
    out
}

fn version_of(text: Vec<u8>) -> Version {
    let records = parse_records(&text);
    let raw = raw_lines_of(&text);
    let rejected = raw_line_slices(&text)
        .iter()
        .filter(|l| **l == BAD_LINE.as_bytes())
        .count() as u64;
    assert_eq!(raw.data(), records.len() as u64 + rejected);
    Version {
        text,
        records,
        raw,
        rejected,
    }
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(text).unwrap();
    gz.finish().unwrap()
}

/// A new version of `text`: every record's `end` one second later (so no
/// record equals an old one), its last `drop` records gone (so each version
/// of an object has its own record count), and optionally a bad line.
fn rewrite(text: &[u8], drop: usize, bad_line: bool) -> Vec<u8> {
    let mut end_at = None;
    let mut kept: Vec<String> = Vec::new();
    for line in raw_line_slices(text) {
        let line = std::str::from_utf8(line).unwrap();
        if is_header_line(line.as_bytes()) {
            end_at = line.split(' ').position(|t| t == "end");
            kept.push(line.to_owned());
        } else if line == BAD_LINE || line.trim().is_empty() {
            continue;
        } else {
            let mut tokens: Vec<String> = line.split(' ').map(str::to_owned).collect();
            let i = end_at.unwrap();
            tokens[i] = (tokens[i].parse::<i64>().unwrap() + 1).to_string();
            kept.push(tokens.join(" "));
        }
    }
    let records = kept
        .iter()
        .filter(|l| !is_header_line(l.as_bytes()))
        .count();
    let mut dropped = 0;
    while dropped < drop.min(records.saturating_sub(10)) {
        kept.pop();
        dropped += 1;
    }
    if bad_line {
        kept.insert(kept.len() / 2, BAD_LINE.to_owned());
    }
    let mut out = kept.join("\n").into_bytes();
    out.push(b'\n');
    out
}

/// How an ingest process ended.
enum Ran {
    /// Exit 0 or 1, with its summary.
    Done(Value),
    /// Killed by the injected crash (abort).
    Crashed,
    /// Exit 2 because another ingest holds the lake.
    Refused,
}

fn outcome(out: &Output, what: &str) -> Ran {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0 | 1) => Ran::Done(json(&stdout)),
        Some(2) if stderr.contains("another flowlake ingest") => Ran::Refused,
        None => Ran::Crashed,
        Some(code) => panic!("{what}: ingest exited {code}:\nstdout: {stdout}\nstderr: {stderr}"),
    }
}

struct Model {
    rng: Rng,
    src: PathBuf,
    lake: PathBuf,
    python: PathBuf,
    /// Generated objects not yet added to the source.
    pool: Vec<(String, PathBuf)>,
    objects: Vec<Object>,
    /// Operations so far, for failure messages.
    history: Vec<String>,
    /// Crash steps that did crash the binary, and those it never reached.
    crashed: BTreeMap<String, u64>,
    not_reached: BTreeMap<String, u64>,
    /// Failed checks, each with the step it failed at. The sequence goes on
    /// after a failure so one run reports every kind of disagreement (later
    /// ones may follow from earlier ones); the test fails at the end.
    failures: std::cell::RefCell<Vec<String>>,
}

impl Model {
    fn new(seed: u64, python: PathBuf) -> Model {
        let dir = scratch(&format!("commit-model-{seed:x}"));
        let pool_dir = dir.join("pool");
        generate(&pool_dir, 6_000, 10, seed);
        let pool = text_objects_under(&pool_dir)
            .into_iter()
            .map(|rel| {
                let path = pool_dir.join(&rel);
                (rel, path)
            })
            .collect();
        let src = dir.join("src");
        std::fs::create_dir_all(&src).unwrap();
        Model {
            rng: Rng(seed),
            lake: dir.join("lake"),
            src,
            python,
            pool,
            objects: Vec::new(),
            history: Vec::new(),
            crashed: BTreeMap::new(),
            not_reached: BTreeMap::new(),
            failures: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn at(&self) -> String {
        format!(
            "after step {} ({})",
            self.history.len(),
            self.history.join("; ")
        )
    }

    /// Records a failed check (see `failures`).
    fn check(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            let step = self.history.len();
            let last = self.history.last().cloned().unwrap_or_default();
            self.failures
                .borrow_mut()
                .push(format!("step {step} ({last}): {}", what()));
        }
    }

    fn write(&self, object: usize, bytes: &[u8]) {
        let path = self.src.join(&self.objects[object].rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    // ---- operations on the source ----

    fn add(&mut self) {
        let Some((rel, path)) = self.pool.pop() else {
            self.change(false);
            return;
        };
        let text = raw_bytes(&path);
        self.objects.push(Object {
            rel: rel.clone(),
            versions: vec![version_of(text)],
            disk: Disk::Good(0),
            committed: None,
        });
        std::fs::create_dir_all(self.src.join(&rel).parent().unwrap()).unwrap();
        std::fs::copy(&path, self.src.join(&rel)).unwrap();
        self.history.push(format!("add {}", short(&rel)));
    }

    /// The latest readable text of an object.
    fn latest_text(&self, object: usize) -> &[u8] {
        &self.objects[object].versions.last().unwrap().text
    }

    /// Rewrites a random object with different records; returns which.
    fn change(&mut self, bad_line: bool) -> usize {
        let object = self.rng.below(self.objects.len());
        let drop = 1 + self.rng.below(3);
        let text = rewrite(self.latest_text(object), drop, bad_line);
        self.write(object, &gzip(&text));
        let o = &mut self.objects[object];
        o.versions.push(version_of(text));
        o.disk = Disk::Good(o.versions.len() - 1);
        let what = format!(
            "change {} to {} records{}",
            short(&o.rel),
            o.versions.last().unwrap().records.len(),
            if bad_line { " + a bad line" } else { "" }
        );
        self.history.push(what);
        object
    }

    fn corrupt(&mut self) {
        let object = self.rng.below(self.objects.len());
        self.corrupt_object(object);
    }

    /// Writes a new version of `object` whose gzip is cut in half.
    fn corrupt_object(&mut self, object: usize) {
        let text = rewrite(self.latest_text(object), 1, false);
        let gz = gzip(&text);
        self.write(object, &gz[..gz.len() / 2]);
        self.objects[object].disk = Disk::Corrupt;
        let what = format!("corrupt {}", short(&self.objects[object].rel));
        self.history.push(what);
    }

    fn mutate(&mut self) {
        match self.rng.below(4) {
            0 => self.add(),
            1 => self.corrupt(),
            _ => {
                let bad_line = self.rng.below(3) == 0;
                self.change(bad_line);
            }
        }
    }

    // ---- ingests ----

    fn ingest_command(&self) -> std::process::Command {
        flowlake(&[
            "ingest",
            "dir",
            self.src.to_str().unwrap(),
            "--lake",
            self.lake.to_str().unwrap(),
            "--json",
            "--threads",
            "1",
        ])
    }

    /// What a clean run must do, per the model: (objects to ingest, objects
    /// that must fail).
    fn work(&self) -> (Vec<usize>, Vec<usize>) {
        let mut ingest = Vec::new();
        let mut fail = Vec::new();
        for (i, o) in self.objects.iter().enumerate() {
            match o.disk {
                Disk::Good(v) if o.committed != Some(v) => ingest.push(i),
                Disk::Good(_) => {}
                Disk::Corrupt => fail.push(i),
            }
        }
        (ingest, fail)
    }

    fn ingest(&mut self) {
        self.history.push("ingest".into());
        let pending = pending_intents(&self.lake).len() as u64;
        let out = self.ingest_command().output().unwrap();
        match outcome(&out, &self.at()) {
            Ran::Done(summary) => self.after_clean(&[summary], pending),
            Ran::Crashed => panic!("{}: a run without crash injection crashed", self.at()),
            Ran::Refused => panic!("{}: a lone ingest was refused the lock", self.at()),
        }
    }

    fn ingest_with_crash(&mut self, step: &str, n: u64) {
        self.history
            .push(format!("ingest crashing after {step}:{n}"));
        let pending = pending_intents(&self.lake).len() as u64;
        let out = self
            .ingest_command()
            .env("FLOWLAKE_CRASH_AFTER", format!("{step}:{n}"))
            .output()
            .unwrap();
        match outcome(&out, &self.at()) {
            Ran::Done(summary) => {
                *self.not_reached.entry(step.to_owned()).or_default() += 1;
                if let Some(last) = self.history.last_mut() {
                    last.push_str(" (not reached: ran to the end)");
                }
                self.after_clean(&[summary], pending);
            }
            Ran::Crashed => {
                *self.crashed.entry(step.to_owned()).or_default() += 1;
                self.after_crash();
            }
            Ran::Refused => panic!("{}: a lone ingest was refused the lock", self.at()),
        }
    }

    fn two_at_once(&mut self) {
        self.history.push("two ingests at once".into());
        let pending = pending_intents(&self.lake).len() as u64;
        let spawn = |m: &Model| {
            m.ingest_command()
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(&*self), spawn(&*self));
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let mut summaries = Vec::new();
        for out in &outs {
            match outcome(out, &self.at()) {
                Ran::Done(summary) => summaries.push(summary),
                Ran::Refused => {}
                Ran::Crashed => panic!("{}: an ingest crashed", self.at()),
            }
        }
        if let Some(last) = self.history.last_mut() {
            last.push_str(match summaries.len() {
                2 => " (both ran)",
                _ => " (one refused the lock)",
            });
        }
        assert!(
            !summaries.is_empty(),
            "{}: both ingests were refused",
            self.at()
        );
        self.after_clean(&summaries, pending);
    }

    // ---- checks ----

    /// After runs that finished (one, or two at once): the summaries did
    /// the model's work once between them, then (a), (b) and (c).
    fn after_clean(&mut self, summaries: &[Value], pending_before: u64) {
        let (ingest, fail) = self.work();
        let total = |path: &[&str]| -> u64 {
            summaries
                .iter()
                .map(|s| {
                    path.iter()
                        .fold(s, |v, k| &v[*k])
                        .as_u64()
                        .unwrap_or_else(|| panic!("no {path:?} in {s}"))
                })
                .sum()
        };
        let sum = |f: &dyn Fn(&Version) -> u64| -> u64 {
            ingest
                .iter()
                .map(|&i| {
                    let o = &self.objects[i];
                    let Disk::Good(v) = o.disk else {
                        unreachable!()
                    };
                    f(&o.versions[v])
                })
                .sum()
        };
        let all = format!("summaries {summaries:?}");
        let expect = |name: &str, got: u64, want: u64| {
            self.check(got == want, || {
                format!("(c) {name}: the summaries say {got}, the model {want}; {all}")
            });
        };
        expect(
            "objects ingested, once between the runs",
            total(&["objects", "ingested"]),
            ingest.len() as u64,
        );
        expect(
            "pending intents recovered",
            total(&["objects", "recovered"]),
            pending_before,
        );
        for s in summaries {
            expect(
                "failed objects (each unreadable version fails every run)",
                s["objects"]["failed"].as_u64().unwrap(),
                fail.len() as u64,
            );
        }
        expect(
            "records written",
            total(&["records_written"]),
            sum(&|v| v.records.len() as u64),
        );
        expect(
            "lines read (counted by the test)",
            total(&["lines", "read"]),
            sum(&|v| v.raw.lines),
        );
        expect(
            "header lines",
            total(&["lines", "headers"]),
            sum(&|v| v.raw.headers),
        );
        expect(
            "rejected lines",
            total(&["lines", "rejected"]),
            sum(&|v| v.rejected),
        );
        for i in ingest {
            let o = &mut self.objects[i];
            if let Disk::Good(v) = o.disk {
                o.committed = Some(v);
            }
        }
        self.check_sql_count("(a) after a clean run");
        self.check_at_rest();
        self.check_duckdb_rows();
    }

    /// After an injected crash: which new versions made it is read from the
    /// ledger (an entry for the version on disk is the commit point); every
    /// other object keeps the version committed before the run.
    fn after_crash(&mut self) {
        let entries = ledger_entries(&self.lake);
        let mut problems = Vec::new();
        for o in &mut self.objects {
            let mine: Vec<&Value> = entries.iter().filter(|e| entry_is_for(e, &o.rel)).collect();
            if let Disk::Good(v) = o.disk
                && o.committed != Some(v)
                && mine
                    .iter()
                    .any(|e| entry_records(e) == o.versions[v].records.len() as u64)
            {
                o.committed = Some(v);
            }
            if let Some(v) = o.committed {
                let want = o.versions[v].records.len() as u64;
                if !mine.iter().any(|e| entry_records(e) == want) {
                    problems.push(format!(
                        "the committed version of {} ({want} records) lost its ledger entry; its entries: {mine:?}",
                        short(&o.rel)
                    ));
                }
            }
            for e in &mine {
                let records = entry_records(e);
                if !o.versions.iter().any(|v| v.records.len() as u64 == records) {
                    problems.push(format!(
                        "a ledger entry for a version of {} that never existed: {e}",
                        short(&o.rel)
                    ));
                }
            }
        }
        for p in problems {
            self.check(false, || format!("(c) after a crash: {p}"));
        }
        self.check_sql_count("(a) after a crash, before any re-run");
    }

    fn expected_records(&self) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = self
            .objects
            .iter()
            .filter_map(|o| o.committed.map(|v| &o.versions[v].records))
            .flatten()
            .cloned()
            .collect();
        rows.sort();
        rows
    }

    fn check_sql_count(&self, what: &str) {
        let expected = self.expected_records().len() as u64;
        let counted = count(&self.lake);
        self.check(counted == expected, || {
            format!("{what}: flowlake sql counts {counted}, the committed versions hold {expected}")
        });
    }

    /// (c): at rest, the ledger is the model.
    fn check_at_rest(&self) {
        let pending = pending_intents(&self.lake);
        self.check(pending.is_empty(), || {
            format!("(c) intents left at rest: {pending:?}")
        });
        let entries = ledger_entries(&self.lake);
        let mut named = Vec::new();
        for o in &self.objects {
            let name = short(&o.rel);
            let mine: Vec<&Value> = entries.iter().filter(|e| entry_is_for(e, &o.rel)).collect();
            match o.committed {
                None => self.check(mine.is_empty(), || {
                    format!("(c) {name} was never committed, yet has entries {mine:?}")
                }),
                Some(v) => {
                    let v = &o.versions[v];
                    let want = v.records.len() as u64;
                    self.check(mine.len() == 1, || {
                        format!(
                            "(c) {name}: {} ledger entries at rest, expected one: {mine:?}",
                            mine.len()
                        )
                    });
                    if let Some(e) = mine.iter().find(|e| entry_records(e) == want) {
                        self.check(e["counts"]["rejected"] == v.rejected, || {
                            format!("(c) {name}: rejected lines in {e}, expected {}", v.rejected)
                        });
                        self.check(e["counts"]["headers"] == v.raw.headers, || {
                            format!("(c) {name}: headers in {e}, expected {}", v.raw.headers)
                        });
                        let rows: u64 = e["files"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|f| f["rows"].as_u64().unwrap())
                            .sum();
                        self.check(rows == want, || {
                            format!("(c) {name}: files hold {rows} rows, the version {want}: {e}")
                        });
                    } else {
                        self.check(false, || {
                            format!("(c) {name}: no ledger entry for its committed version ({want} records): {mine:?}")
                        });
                    }
                }
            }
            for e in mine {
                for f in e["files"].as_array().unwrap() {
                    named.push(
                        f["path"]
                            .as_str()
                            .unwrap()
                            .trim_start_matches("flows/")
                            .to_owned(),
                    );
                }
            }
        }
        let committed = self
            .objects
            .iter()
            .filter(|o| o.committed.is_some())
            .count();
        self.check(entries.len() == committed, || {
            format!(
                "(c) {} ledger entries, {committed} objects committed",
                entries.len()
            )
        });
        named.sort();
        let table = files_under(&self.lake.join("flows"));
        self.check(named == table, || {
            format!("(c) the ledger names {named:?}, the table holds {table:?}")
        });
        for rollup in ROLLUP_TABLES {
            let companions = files_under(&self.lake.join(rollup));
            self.check(companions == table, || {
                format!("(c) {rollup} holds {companions:?}, the table {table:?}")
            });
        }
    }

    /// (b): DuckDB over every Parquet file under flows/ sees each expected
    /// record exactly once.
    fn check_duckdb_rows(&self) {
        let seen = lake_rows(&self.python, &self.lake, KEY_COLUMNS);
        let expected = self.expected_records();
        if seen != expected {
            let mut diff: BTreeMap<&Vec<String>, i64> = BTreeMap::new();
            for r in &seen {
                *diff.entry(r).or_default() += 1;
            }
            for r in &expected {
                *diff.entry(r).or_default() -= 1;
            }
            let extra: Vec<_> = diff.iter().filter(|(_, n)| **n > 0).take(3).collect();
            let missing: Vec<_> = diff.iter().filter(|(_, n)| **n < 0).take(3).collect();
            self.check(false, || {
                format!(
                    "(b) DuckDB reads {} rows, the model expects {}: extra (first 3) {extra:?}, missing (first 3) {missing:?}",
                    seen.len(),
                    expected.len()
                )
            });
        }
    }
}

/// True when a ledger entry is for the object at `rel` (its location ends with it).
fn entry_is_for(entry: &Value, rel: &str) -> bool {
    entry["location"]
        .as_str()
        .is_some_and(|l| l.replace('\\', "/").ends_with(rel))
}

/// Records an entry says its version holds (its counts, else its files' rows).
fn entry_records(entry: &Value) -> u64 {
    entry["counts"]["records"].as_u64().unwrap_or_else(|| {
        entry["files"]
            .as_array()
            .map(|f| f.iter().filter_map(|f| f["rows"].as_u64()).sum())
            .unwrap_or(0)
    })
}

/// The file name of a path, for short history lines.
fn short(rel: &str) -> &str {
    Path::new(rel)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(rel)
}

fn run_sequence(seed: u64, python: PathBuf) -> Model {
    let mut m = Model::new(seed, python);
    for _ in 0..3 {
        m.add();
    }
    m.ingest();
    let mut steps: Vec<&str> = CRASH_STEPS.to_vec();
    m.rng.shuffle(&mut steps);
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            // Recovery needs intents left by a crashed run; the object whose
            // replacement was interrupted then turns out unreadable, so only
            // its old version can remain.
            "recover" => {
                let object = m.change(false);
                m.ingest_with_crash("publish", 1);
                m.corrupt_object(object);
                m.ingest_with_crash("recover", 1);
            }
            "quarantine" => {
                m.change(true);
                m.ingest_with_crash(step, 1);
            }
            // Retiring needs an old version being replaced.
            "retire" | "delete-old" => {
                m.change(false);
                m.ingest_with_crash(step, 1);
            }
            _ => {
                m.mutate();
                // Crash after the first or second time: with two objects to
                // ingest, the second can land after one committed.
                let n = 1 + m.rng.below(2);
                for _ in 0..8 {
                    if m.work().0.len() >= n {
                        break;
                    }
                    m.mutate();
                }
                m.ingest_with_crash(step, n as u64);
            }
        }
        m.ingest();
        if i % 3 == 1 {
            m.mutate();
            m.mutate();
            m.two_at_once();
        }
    }
    m
}

#[test]
fn the_lake_follows_a_model_through_crashes_changes_and_two_writers() {
    let Some(python) = python() else { return };
    let seeds: Vec<u64> = match std::env::var("FLOWLAKE_MODEL_SEEDS") {
        Ok(list) => list.split(',').map(|s| s.trim().parse().unwrap()).collect(),
        Err(_) => SEEDS.to_vec(),
    };
    for seed in seeds {
        let m = run_sequence(seed, python.clone());
        // After every crash, change and race: the rollups still sum exactly
        // the committed records.
        assert_rollups_agree(&python, &m.lake);
        // Every crash step must have crashed the binary at least once:
        // otherwise the sequence did not test it.
        for step in CRASH_STEPS.iter().filter(|s| !m.crashed.contains_key(**s)) {
            m.check(false, || {
                format!(
                    "crash step {step:?} was never reached (crashed: {:?}, not reached: {:?})",
                    m.crashed, m.not_reached
                )
            });
        }
        let failures = m.failures.borrow();
        assert!(
            failures.is_empty(),
            "seed {seed:#x}: {} checks failed:\n{}\n\nthe sequence: {}",
            failures.len(),
            failures.join("\n"),
            m.history
                .iter()
                .enumerate()
                .map(|(i, h)| format!("{}. {h}", i + 1))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
}
