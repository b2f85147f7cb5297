//! `serve flight-sql` with a real client (Python ADBC's Flight SQL
//! driver): the reports' queries answer as `flowlake sql` and DuckDB do,
//! tokens are checked, and writes or reads outside the lake are refused.

use std::path::Path;

use serde_json::Value;

use crate::harness::{Server, bin, py, python, scratch, shared};

/// Reports over `reject_explanations`, which the shared lake lacks.
const SAVED_EXPLANATION_REPORTS: &[&str] = &["top-rejecting-controls"];

#[test]
fn flight_sql_answers_as_flowlake_sql_and_duckdb_and_refuses_writes() {
    let Some(python) = python() else {
        return;
    };
    let lake = &shared().lake;
    let dir = scratch("flight-sql");
    let token = "flight-test-token-0f3c";
    let server = Server::start(
        &[
            "serve",
            "flight-sql",
            "--lake",
            lake.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--token-env",
            "FLOWLAKE_TEST_FLIGHT_TOKEN",
        ],
        &[("FLOWLAKE_TEST_FLIGHT_TOKEN", token)],
    );
    assert!(
        server.address.starts_with("grpc://127.0.0.1:"),
        "{}",
        server.address
    );

    let reports_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("query/src/reports");
    let mut reports: Vec<String> = std::fs::read_dir(&reports_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        // DuckDB answers too, so only the reports over `flows` itself:
        // top-talkers reads `talkers`, a view flowlake's session defines
        // (count-once, from the network context). The rollup twins are
        // checked against their flows reports in DuckDB by tests/e2e/query.rs.
        .filter(|p| !std::fs::read_to_string(p).unwrap().contains("FROM talkers"))
        // The shared lake has no saved explanations (`explain --save`), so
        // the reports over them are left out here; top-rejecting-controls
        // is run against its SQL in DuckDB by tests/e2e/context_explain_save.rs.
        .filter(|p| {
            !SAVED_EXPLANATION_REPORTS
                .iter()
                .any(|r| p.ends_with(format!("{r}.sql")))
        })
        .filter(|p| !p.to_str().unwrap().ends_with(".rollup.sql"))
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    reports.sort();
    assert!(reports.len() >= 9, "{reports:?}");
    for r in SAVED_EXPLANATION_REPORTS {
        assert!(
            std::fs::read_to_string(reports_dir.join(format!("{r}.sql")))
                .unwrap()
                .contains("FROM reject_explanations"),
            "{r} no longer needs saved explanations: check it here"
        );
    }
    let copy_target = dir.join("copied.csv");
    let binary = bin();
    let grafana = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards/grafana/flowlake.json");
    let mut args = vec![
        server.address.as_str(),
        token,
        binary.to_str().unwrap(),
        lake.to_str().unwrap(),
        copy_target.to_str().unwrap(),
        grafana.to_str().unwrap(),
    ];
    args.extend(reports.iter().map(String::as_str));
    let out = py(&python, "flight_sql.py", &args);

    for (name, report) in out["reports"].as_object().unwrap() {
        let flight = report["flight"].as_array().unwrap();
        assert_eq!(
            report["flight"], report["flowlake_sql"],
            "{name}: Flight SQL vs flowlake sql"
        );
        assert_eq!(
            report["flight"], report["duckdb"],
            "{name}: Flight SQL vs DuckDB"
        );
        if name != "ssh-rdp-external" {
            assert!(!flight.is_empty(), "{name}: no rows to compare");
        }
    }
    assert_eq!(out["reports"].as_object().unwrap().len(), reports.len());
    // The Grafana dashboard's queries all run, and its figures are the lake's.
    let grafana = out["grafana"].as_object().unwrap();
    assert!(grafana.len() >= 16, "{grafana:?}");
    for (title, result) in grafana {
        assert_eq!(result[0], "ok", "Grafana panel {title:?}: {}", result[1]);
    }
    assert_eq!(
        grafana["Flows"][1][0], out["duckdb_count"],
        "Grafana's Flows figure"
    );
    assert_eq!(out["prepared_rejected"], out["duckdb_rejected"]);
    assert!(out["duckdb_rejected"].as_u64().unwrap() > 0);
    let tables: Vec<&str> = out["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tables.contains(&"flows") && tables.contains(&"quarantine"),
        "{tables:?}"
    );

    for (what, says) in [
        ("insert", "read-only"),
        ("update_statement", "read-only"),
        ("create_table", "read-only"),
        ("external_table", "read-only"),
        ("copy", "read-only"),
        ("file_path", "not a table of the lake"),
        ("set", "read-only"),
    ] {
        let result = &out["refusals"][what];
        assert_eq!(result[0], "error", "{what} was not refused: {result}");
        let message = result[1].as_str().unwrap();
        assert!(message.contains(says), "{what}: {message}");
    }
    assert!(!copy_target.exists(), "COPY wrote a file");
    for (what, says) in [
        ("wrong_token", "wrong token"),
        ("no_token", "needs a token"),
    ] {
        let result: &Value = &out[what];
        assert_eq!(result[0], "error", "{what}: {result}");
        assert!(
            result[1].as_str().unwrap().contains(says),
            "{what}: {result}"
        );
    }
}
