//! Dashboards: `dashboard render` writes a self-contained page and `serve
//! dashboard` serves it live; headless Chromium (Debian's package) opens
//! them, and what each panel shows is compared with DuckDB over the lake.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{Server, flowlake, ok, py, python, run, scratch, shared};

const DASHBOARDS: [&str; 4] = ["traffic", "top-talkers", "rejected", "log-health"];

/// The system's Chromium, or `None` (skip) outside CI.
fn chromium() -> Option<PathBuf> {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return Some(PathBuf::from(candidate));
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but chromium is missing: .ci/run installs Debian's chromium package");
    }
    eprintln!("skipping: no chromium (apt-get install chromium)");
    None
}

/// Where CI keeps what a person may want to look at after a run.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Chromium, headless, with its own profile; the given extra arguments.
fn headless(browser: &Path, profile: &Path, extra: &[&str], url: &str) -> std::process::Output {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Opens `url` in the browser and returns the panels it shows (read from
/// the DOM after scripts ran), failing on any script error.
fn open(python: &Path, browser: &Path, dir: &Path, url: &str) -> Value {
    let out = headless(browser, &dir.join("profile"), &["--dump-dom"], url);
    let errors: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE") && (l.contains("Uncaught") || l.contains("Error")))
        .map(str::to_owned)
        .collect();
    assert!(errors.is_empty(), "{url}: script errors: {errors:#?}");
    let dom = dir.join("dom.html");
    std::fs::write(&dom, &out.stdout).unwrap();
    let page = py(python, "dashboard_dom.py", &[dom.to_str().unwrap()]);
    assert_eq!(page["ready"], true, "{url}: the page's script did not run");
    page
}

/// The panels each built-in definition file declares (counted in the file).
fn declared_panels(name: &str) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("dashboards/defs/{name}.toml"));
    std::fs::read_to_string(path)
        .unwrap()
        .matches("[[panels]]")
        .count()
}

fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}")),
        Value::Number(n) => n.as_f64().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

/// Every panel drew (no error), and the numbers match DuckDB's.
fn check_panels(page: &Value, dashboard: &str, expected: &Value) {
    let panels = page["panels"].as_object().unwrap();
    let mine: Vec<(&String, &Value)> = panels
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{dashboard}/")))
        .collect();
    assert_eq!(
        mine.len(),
        declared_panels(dashboard),
        "{dashboard}: panels on the page"
    );
    for (id, panel) in &mine {
        assert!(
            panel["status"] == "ok" || panel["status"] == "empty",
            "{id}: {}",
            panel["error"]
        );
    }
    let panel = |id: &str| &panels[&format!("{dashboard}/{id}")];
    match dashboard {
        "traffic" => {
            for (column, want) in expected["totals"].as_object().unwrap() {
                assert_eq!(
                    number(&panel("totals")["stats"][column]),
                    number(want),
                    "traffic totals: {column}"
                );
            }
            let series = panel("flows-over-time")["series"].as_object().unwrap();
            let want = expected["flows_by_action"].as_object().unwrap();
            assert_eq!(
                series.len(),
                want.len(),
                "flows over time: {series:?} vs {want:?}"
            );
            for (action, flows) in want {
                assert_eq!(
                    number(&series[action]),
                    number(flows),
                    "flows over time: {action}"
                );
            }
        }
        "top-talkers" => assert_bars(
            panel("top-sources"),
            &expected["top_sources"],
            "top sources",
        ),
        "rejected" => assert_bars(
            panel("rejected-ports"),
            &expected["rejected_ports"],
            "rejected ports",
        ),
        "log-health" => {
            let rows = panel("status-by-interface")["rows"].as_array().unwrap();
            let want = expected["log_health"].as_object().unwrap();
            assert_eq!(rows.len(), want.len().min(50), "log health rows");
            for row in rows {
                let key = format!(
                    "{}/{}",
                    row["account_id"].as_str().unwrap(),
                    row["interface_id"].as_str().unwrap()
                );
                let w = &want[&key];
                assert_eq!(number(&row["nodata"]), number(&w[0]), "{key} nodata");
                assert_eq!(number(&row["skipdata"]), number(&w[1]), "{key} skipdata");
            }
        }
        _ => {}
    }
}

fn assert_bars(panel: &Value, expected: &Value, what: &str) {
    let got: Vec<(String, f64)> = panel["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b[0].as_str().unwrap().to_owned(), number(&b[1])))
        .collect();
    let want: Vec<(String, f64)> = expected
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b[0].as_str().unwrap().to_owned(), number(&b[1])))
        .collect();
    assert!(!want.is_empty(), "{what}: the sample has none");
    assert_eq!(got, want, "{what}");
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn served_dashboards_in_a_real_browser_show_what_duckdb_finds() {
    let (Some(python), Some(browser)) = (python(), chromium()) else {
        return;
    };
    let lake = &shared().lake;
    let dir = scratch("dashboards-browser");
    let expected = py(
        python.as_path(),
        "dashboard_expected.py",
        &[lake.to_str().unwrap()],
    );
    let server = Server::start(
        &[
            "serve",
            "dashboard",
            "--lake",
            lake.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let base = server.address.clone();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    for dashboard in DASHBOARDS {
        let page = open(&python, &browser, &dir, &format!("{base}{dashboard}"));
        check_panels(&page, dashboard, &expected);
    }

    // A time range from the picker narrows every panel to it.
    let (first, last) = (
        expected["first"].as_i64().unwrap(),
        expected["last"].as_i64().unwrap(),
    );
    let from = first + (last - first) / 3 / 60 * 60;
    let to = first + 2 * (last - first) / 3 / 60 * 60;
    let narrowed = py(
        python.as_path(),
        "dashboard_expected.py",
        &[lake.to_str().unwrap(), &from.to_string(), &to.to_string()],
    );
    assert_ne!(
        narrowed["totals"], expected["totals"],
        "the window must exclude something"
    );
    let page = open(
        &python,
        &browser,
        &dir,
        &format!("{base}traffic?from={from}&to={to}"),
    );
    check_panels(&page, "traffic", &narrowed);

    // The SQL box: a query's result, and refusals that say why.
    let sql = "SELECT COUNT(*) AS n FROM flows WHERE action = 'REJECT'";
    let page = open(
        &python,
        &browser,
        &dir,
        &format!("{base}sql?q={}", url_encode(sql)),
    );
    assert_eq!(page["sql"]["status"], "ok", "{}", page["sql"]["error"]);
    assert_eq!(
        number(&page["sql"]["rows"][0]["n"]),
        number(&expected["totals"]["rejected_flows"])
    );
    let target = dir.join("copied.csv");
    for (refused, says) in [
        (
            format!(
                "COPY (SELECT 1 AS a) TO '{}' STORED AS CSV",
                target.display()
            ),
            "read-only",
        ),
        (
            "SELECT * FROM '/etc/passwd'".to_owned(),
            "not a table of the lake",
        ),
        ("DROP TABLE flows".to_owned(), "read-only"),
    ] {
        let page = open(
            &python,
            &browser,
            &dir,
            &format!("{base}sql?q={}", url_encode(&refused)),
        );
        assert_eq!(page["sql"]["status"], "error", "{refused}");
        let error = page["sql"]["error"].as_str().unwrap();
        assert!(error.contains(says), "{refused}: {error}");
    }
    assert!(!target.exists(), "COPY wrote a file");

    // A screenshot for people (a CI artifact).
    let shot = artifacts().join("dashboard-traffic.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        &browser,
        &dir.join("profile"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1800",
        ],
        &format!("{base}traffic"),
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    println!("dashboard screenshot: {}", shot.display());
}

/// `flowlake dashboard render --lake <lake> --out <out> <extra>`.
fn render(lake: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut args = vec![
        "dashboard",
        "render",
        "--lake",
        lake.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    flowlake(&args)
}

#[test]
fn rendered_file_is_self_contained_and_shows_what_duckdb_finds() {
    let (Some(python), Some(browser)) = (python(), chromium()) else {
        return;
    };
    let lake = &shared().lake;
    let dir = scratch("dashboards-render");
    let out = dir.join("report.html");
    ok(&mut render(lake, &out, &[]));
    let html = std::fs::read_to_string(&out).unwrap();
    for external in ["<link", " src=", "href=\"http", "@import", "url(http"] {
        assert!(
            !html.contains(external),
            "the page loads something: {external}"
        );
    }
    let expected = py(
        python.as_path(),
        "dashboard_expected.py",
        &[lake.to_str().unwrap()],
    );
    // Offline, as a file, in the browser.
    let page = open(
        &python,
        &browser,
        &dir,
        &format!("file://{}", out.display()),
    );
    for dashboard in DASHBOARDS {
        check_panels(&page, dashboard, &expected);
    }
    assert!(
        page["svg_paths"].as_u64().unwrap() > 0,
        "no chart lines drawn"
    );
    // Six hours step by 5 minutes: the series read flows, the rest the
    // per-hour rollups, which cover the whole lake.
    let source = |page: &Value, id: &str| page["panels"][id]["source"].clone();
    assert_eq!(source(&page, "traffic/flows-over-time"), "flows");
    assert_eq!(source(&page, "traffic/totals"), "rollups");
    assert_eq!(source(&page, "top-talkers/top-sources"), "rollups");

    // A week steps by whole hours: every panel with a rollup form reads the
    // rollups, and still shows what DuckDB finds in flows.
    let week = dir.join("week.html");
    let (from, to) = ("2024-05-22T00:00:00Z", "2024-05-29T00:00:00Z");
    ok(&mut render(lake, &week, &["--from", from, "--to", to]));
    let expected = py(
        python.as_path(),
        "dashboard_expected.py",
        &[lake.to_str().unwrap(), "1716336000", "1716940800"],
    );
    let page = open(
        &python,
        &browser,
        &dir,
        &format!("file://{}", week.display()),
    );
    for dashboard in DASHBOARDS {
        check_panels(&page, dashboard, &expected);
    }
    for (id, panel) in page["panels"].as_object().unwrap() {
        if id != "log-health/quarantine" {
            assert_eq!(panel["source"], "rollups", "{id}");
        }
    }

    // Choosing dashboards, and a name that is not there.
    let only = dir.join("rejected.html");
    ok(&mut render(lake, &only, &["--dashboard", "rejected"]));
    let page = py(
        python.as_path(),
        "dashboard_dom.py",
        &[only.to_str().unwrap()],
    );
    assert!(
        page["panels"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| k.starts_with("rejected/"))
    );
    let missing = run(&mut render(lake, &only, &["--dashboard", "nope"]));
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no dashboard named \"nope\""));
}
