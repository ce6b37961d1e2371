//! The benchmark itself keeps working: a tiny run on SQLite and PostgreSQL (and Firestore's
//! emulator when FIRESTORE_EMULATOR_HOST is set) prints every table with figures in them.
//! It measures nothing worth reading; it proves the tool a user runs is not broken.

use std::process::Command;

use serde_json::Value;

#[test]
fn a_tiny_run_fills_every_table() {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("karen-bench-smoke-{tag}"));
    let out = dir.join("bench.json");
    let prefix = format!("karen_test_{tag}");
    let pg = std::env::var("KAREN_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let firestore = std::env::var("FIRESTORE_EMULATOR_HOST").is_ok_and(|h| !h.is_empty());
    let backends = if firestore { "sqlite,postgres,firestore" } else { "sqlite,postgres" };
    let run = Command::new(env!("CARGO_BIN_EXE_karen-bench"))
        .args(["--scale", "0.001", "--seconds", "0.2", "--tasks", "2", "--backends", backends])
        .args(["--firestore-scale", "0.0001", "--database-prefix", &prefix, "--postgres-url", &pg])
        .arg("--sqlite-dir")
        .arg(&dir)
        .arg("--output")
        .arg(&out)
        .output()
        .expect("karen-bench runs");
    let report: Option<Value> = std::fs::read_to_string(&out).ok().map(|t| serde_json::from_str(&t).unwrap());
    // Clean up before asserting, so a failure leaves nothing behind.
    let _ = std::fs::remove_dir_all(&dir);
    for scale in ["0_001", "0_0001"] {
        let _ = Command::new("psql")
            .args([&pg, "-qc", &format!("DROP DATABASE IF EXISTS {prefix}_{scale} WITH (FORCE)")])
            .output();
    }
    assert!(run.status.success(), "karen-bench exited with {}:\n{}", run.status, String::from_utf8_lossy(&run.stderr));
    let report = report.expect("the JSON report is written");
    let rows = |table: &str| report[table].as_array().cloned().unwrap_or_default();
    let of = |table: &str, backend: &str| rows(table).into_iter().filter(|r| r["backend"] == backend).count();
    for backend in ["sqlite", "postgres"] {
        assert_eq!(of("load", backend), 5, "four kinds and all rows, loaded on {backend}");
        assert_eq!(of("operations", backend), 8, "{backend}");
        assert_eq!(of("index sets", backend), 6, "{backend}");
        assert_eq!(of("scaling", backend), 4, "{backend}");
        assert_eq!(of("http", backend), 3, "{backend}");
        // Six parts and the context at 2 tasks and at 1, a quote, ten quotes.
        assert_eq!(of("agents", backend), 16, "{backend}");
    }
    for row in rows("operations") {
        assert!(row["karen ops/s"].as_f64().unwrap() > 0.0 && row["raw ops/s"].as_f64().unwrap() > 0.0, "{row}");
    }
    for row in rows("load") {
        assert!(row["karen/raw"].as_f64().unwrap() > 0.0, "both sides loaded: {row}");
    }
    if firestore {
        let fs = rows("firestore (emulator)");
        assert_eq!(fs.len(), 8);
        let rpcs = |op: &str| {
            fs.iter().find(|r| r["operation"].as_str().unwrap().starts_with(op)).unwrap()["RPCs/call"].as_f64()
        };
        assert_eq!(rpcs("preference lookup"), Some(1.0), "pattern 1 is one RPC");
        assert_eq!(rpcs("conversation history"), Some(1.0), "pattern 2 is one RPC");
        assert!(rpcs("service search").unwrap() <= 3.0, "search is at most 3 RPCs");
    }
}
