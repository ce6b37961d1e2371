//! The `karen` binary as a user runs it: sample data, tokens, export from one backend and
//! import into another, and `serve` answering over HTTP and stopping on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use karen_postgres::testing::TestDb;

fn karen(url: &str, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_karen"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run karen");
    assert!(
        out.status.success(),
        "karen {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("karen-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

#[tokio::test]
async fn export_from_one_backend_and_import_into_another_yields_the_same_data() {
    let dir = temp_dir();
    let a = sqlite(&dir, "a.db");
    let migrated = String::from_utf8(karen(&a, &["migrate"]).stdout).unwrap();
    let all = format!("applied {} migration(s)", karen_sqlite::MIGRATIONS.len());
    assert!(migrated.contains(&all), "{migrated}");
    karen(&a, &["seed", "--sample"]);
    let out = karen(&a, &["seed", "--sample"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("already present"), "seeding twice loads once");
    karen(&a, &["token", "create", "--name", "agent", "--scope", "read,write"]);
    let a_dump = dir.join("a.jsonl");
    karen(&a, &["export", "--include-tokens", "--output", a_dump.to_str().unwrap()]);
    let exported = std::fs::read_to_string(&a_dump).unwrap();
    let kinds: std::collections::BTreeSet<String> = exported
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds.len(), 12, "every kind is exported, and the trailer: {kinds:?}");
    assert!(exported.lines().last().unwrap().contains("\"kind\":\"trailer\""));

    let db = TestDb::create().await;
    let migrated = String::from_utf8(karen(&db.url, &["migrate"]).stdout).unwrap();
    let all = format!("applied {} migration(s)", karen_postgres::MIGRATIONS.len());
    assert!(migrated.contains(&all), "{migrated}");
    let again = String::from_utf8(karen(&db.url, &["migrate"]).stdout).unwrap();
    assert!(again.contains("schema is up to date"), "{again}");
    karen(&db.url, &["import", "--input", a_dump.to_str().unwrap()]);
    let b_dump = dir.join("b.jsonl");
    karen(&db.url, &["export", "--include-tokens", "--output", b_dump.to_str().unwrap()]);
    let b = std::fs::read_to_string(&b_dump).unwrap();
    assert_eq!(b.lines().count(), exported.lines().count());
    for (i, (x, y)) in exported.lines().zip(b.lines()).enumerate() {
        assert_eq!(x, y, "line {} differs between SQLite and PostgreSQL", i + 1);
    }

    let c = sqlite(&dir, "c.db");
    karen(&c, &["import", "--input", b_dump.to_str().unwrap()]);
    let c_dump = dir.join("c.jsonl");
    karen(&c, &["export", "--include-tokens", "--output", c_dump.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&c_dump).unwrap(), exported, "and back again");

    // Importing into a database that already holds the rows skips them (a rerun completes);
    // a row that differs from the stored one is refused, naming its line.
    let rows = exported.lines().count() - 1;
    let again = karen(&c, &["import", "--input", a_dump.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains(&format!("imported 0 rows, {rows} already present")), "{said}");
    let changed: String = exported
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if i == 0 {
                v["data"]["notes"] = serde_json::json!("edited");
            }
            v.to_string() + "\n"
        })
        .collect();
    let changed_path = dir.join("changed.jsonl");
    std::fs::write(&changed_path, &changed).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_karen"))
        .args(["--database-url", &c, "import", "--allow-partial", "--input", changed_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("line 1: a different customer with id"), "{said}");
    db.drop_db().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn tokens_are_shown_once_listed_without_secrets_and_revoked() {
    let dir = temp_dir();
    let url = sqlite(&dir, "t.db");
    let out = karen(&url, &["token", "create", "--name", "night-agent", "--scope", "read"]);
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("krn_") && token.len() == 68, "{token}");
    let list = String::from_utf8(karen(&url, &["token", "list"]).stdout).unwrap();
    assert!(list.contains("night-agent") && !list.contains(&token), "{list}");
    let id = list.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    karen(&url, &["token", "revoke", &id]);
    let list = String::from_utf8(karen(&url, &["token", "list"]).stdout).unwrap();
    assert!(!list.lines().nth(1).unwrap().trim_end().ends_with(" -"), "revocation time shown: {list}");
    let bad = Command::new(env!("CARGO_BIN_EXE_karen"))
        .args(["--database-url", &url, "token", "create", "--scope", "root"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn serve_demo_answers_with_a_token_and_stops_on_sigterm() {
    let dir = temp_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_karen"))
        .current_dir(&dir)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut token, mut addr) = (None, None);
    let mut log = Vec::new();
    while token.is_none() || addr.is_none() {
        let line = lines.next().expect("karen prints its token and address").unwrap();
        if line.starts_with("krn_") {
            token = Some(line.clone());
        }
        if let Some(a) = line.strip_prefix("karen listening on ") {
            addr = Some(a.to_string());
        }
        log.push(line);
    }
    let (token, addr) = (token.unwrap(), addr.unwrap());
    assert!(dir.join("karen.db").exists(), "the embedded default is a file in the current directory");
    let client = reqwest::Client::new();
    let hits: serde_json::Value = client
        .get(format!("{addr}/v1/services/search?q=faucet"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits["items"][0]["service"]["slug"], "faucet-repair-replacement");
    let by_email = client
        .get(format!("{addr}/v1/customers/by-email?email=dana.whitfield%40example.com"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_email.status(), 200);
    assert_eq!(client.get(format!("{addr}/v1/customers")).send().await.unwrap().status(), 401);

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "karen exits cleanly on SIGTERM: {status}");
    log.extend(lines.map_while(Result::ok));
    let all = log.join("\n");
    assert!(all.contains("shutdown signal received"), "{all}");
    // Privacy: request logs carry route templates and ids, never contact details or content.
    assert!(all.contains("\"route\":\"/v1/customers/by-email\""), "{all}");
    assert!(!all.contains("dana.whitfield"), "an e-mail address reached the logs:\n{all}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn firestore_urls_work_against_the_emulator() {
    let host = std::env::var("FIRESTORE_EMULATOR_HOST")
        .expect("FIRESTORE_EMULATOR_HOST names a running emulator (see .ci/run)");
    let url = format!("firestore://karen-cli-{}", uuid::Uuid::new_v4().simple());
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_karen"))
            .args(["--database-url", &url])
            .args(args)
            .env("FIRESTORE_EMULATOR_HOST", &host)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    };
    run(&["migrate"]);
    run(&["seed", "--sample"]);
    let dir = temp_dir();
    let dump = dir.join("fs.jsonl");
    run(&["export", "--include-tokens", "--output", dump.to_str().unwrap()]);
    let sqlite_url = sqlite(&dir, "from-firestore.db");
    karen(&sqlite_url, &["import", "--input", dump.to_str().unwrap()]);
    let back = dir.join("back.jsonl");
    karen(&sqlite_url, &["export", "--include-tokens", "--output", back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&back).unwrap(),
        std::fs::read_to_string(&dump).unwrap(),
        "Firestore → SQLite → same lines"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `karen search` prints one JSON line per match, best first, with the matches marked; on
/// Firestore a search names its customer or is refused saying so.
#[test]
fn search_prints_matches_as_json_lines() {
    let dir = temp_dir();
    let url = sqlite(&dir, "s.db");
    karen(&url, &["seed", "--sample"]);
    let lines = |out: &Output| -> Vec<serde_json::Value> {
        String::from_utf8(out.stdout.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let all = lines(&karen(&url, &["search", "faucets"]));
    assert_eq!(all.len(), 2, "the question and its answer: {all:?}");
    assert!(all[0]["rank"].as_f64().unwrap() >= all[1]["rank"].as_f64().unwrap());
    assert!(all.iter().all(|h| h["snippet"].as_str().unwrap().contains("<mark>")), "{all:?}");
    let dana = all[0]["conversation"]["customer_id"].as_str().unwrap().to_string();
    let mine = karen(&url, &["search", "faucet", "--customer", &dana, "--direction", "outbound", "--limit", "1"]);
    let mine = lines(&mine);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["conversation"]["direction"], "outbound");
    let bad = Command::new(env!("CARGO_BIN_EXE_karen"))
        .args(["--database-url", &url, "search", "faucet", "--medium", "fax"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("medium"), "{}", String::from_utf8_lossy(&bad.stderr));

    let host = std::env::var("FIRESTORE_EMULATOR_HOST")
        .expect("FIRESTORE_EMULATOR_HOST names a running emulator (see .ci/run)");
    let fs = format!("firestore://karen-cli-{}", uuid::Uuid::new_v4().simple());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_karen"))
            .args(["--database-url", &fs])
            .args(args)
            .env("FIRESTORE_EMULATOR_HOST", &host)
            .output()
            .unwrap()
    };
    assert!(run(&["seed", "--sample"]).status.success());
    let refused = run(&["search", "faucet"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("customer_id"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let dump = dir.join("fs.jsonl");
    assert!(run(&["export", "--output", dump.to_str().unwrap()]).status.success());
    let dana = std::fs::read_to_string(&dump)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["kind"] == "customer" && l["data"]["first_name"] == "Dana")
        .map(|l| l["data"]["id"].as_str().unwrap().to_string())
        .expect("the sample's Dana");
    let found = run(&["search", "faucets", "--customer", &dana]);
    assert!(found.status.success(), "{}", String::from_utf8_lossy(&found.stderr));
    assert_eq!(lines(&found).len(), 2, "the same messages as on SQLite");
    std::fs::remove_dir_all(dir).unwrap();
}

/// What a user meets moving data: tokens stay behind unless asked for, a file cut short is
/// refused before anything is written (or imported with --allow-partial, and completed by a
/// rerun of the whole file), a byte order mark is accepted, a line that is not UTF-8 is named.
#[test]
fn exports_carry_a_trailer_and_imports_resume() {
    let dir = temp_dir();
    let a = sqlite(&dir, "a.db");
    karen(&a, &["seed", "--sample"]);
    karen(&a, &["token", "create", "--name", "agent", "--scope", "admin"]);
    let dump = dir.join("a.jsonl");
    karen(&a, &["export", "--output", dump.to_str().unwrap()]);
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(!text.contains("\"kind\":\"api_token\""), "tokens are left out by default");
    let lines: Vec<&str> = text.lines().collect();
    let rows = lines.len() - 1;
    let import = |url: &str, path: &Path, extra: &[&str]| {
        let mut args = vec!["--database-url", url, "import", "--input", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_karen")).args(&args).output().unwrap()
    };
    let count = |url: &str| -> usize {
        let out = karen(url, &["export", "--output", dir.join("count.jsonl").to_str().unwrap()]);
        drop(out);
        std::fs::read_to_string(dir.join("count.jsonl")).unwrap().lines().count() - 1
    };

    // Cut short: the first half, no trailer.
    let half = dir.join("half.jsonl");
    std::fs::write(&half, lines[..rows / 2].iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let b = sqlite(&dir, "b.db");
    let out = import(&b, &half, &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("without the export's trailer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&b), 0, "nothing was written");
    let out = import(&b, &half, &["--allow-partial"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&b), rows / 2);
    // The rerun of the whole file completes it with exactly the source's rows.
    let out = import(&b, &dump, &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(&format!("imported {} rows, {} already present", rows - rows / 2, rows / 2)), "{said}");
    assert_eq!(count(&b), rows);

    // A trailer that does not match its lines (a row removed from the middle) is refused.
    let edited = dir.join("edited.jsonl");
    let mut kept: Vec<&str> = lines.clone();
    kept.remove(1);
    std::fs::write(&edited, kept.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let out = import(&sqlite(&dir, "c.db"), &edited, &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the trailer does not match"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A byte order mark before the first line is fine.
    let bom = dir.join("bom.jsonl");
    std::fs::write(&bom, format!("\u{feff}{text}")).unwrap();
    let out = import(&sqlite(&dir, "d.db"), &bom, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // A line that is not UTF-8 is named.
    let bad = dir.join("bad.jsonl");
    let mut bytes = format!("{}\n", lines[0]).into_bytes();
    bytes.extend_from_slice(b"{\"kind\": \"customer\", \"data\": {\"notes\": \"\xff\"}}\n");
    std::fs::write(&bad, bytes).unwrap();
    let out = import(&sqlite(&dir, "e.db"), &bad, &["--allow-partial"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2: not UTF-8"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `serve` deletes change events older than `--event-retention-days` when it starts (and
/// hourly); newer ones stay. The old event is written by another program (the system
/// `sqlite3`), as a log kept for a month would hold it.
#[test]
fn serve_prunes_events_older_than_the_retention() {
    let dir = temp_dir();
    let db = sqlite(&dir, "karen.db");
    let file = dir.join("karen.db");
    karen(&db, &["migrate"]);
    let sql = |statement: &str| {
        let out = Command::new("sqlite3").arg(&file).arg(statement).output().expect("the sqlite3 program");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    sql("INSERT INTO karen_events (type, entity_id, customer_id, occurred_at) VALUES \
         ('customer.created', '01a23b83-9513-7344-b1c6-d94207f6d1be', '01a23b83-9513-7344-b1c6-d94207f6d1be', \
          '2026-01-01T00:00:00.000000Z')");
    karen(&db, &["seed", "--sample"]);
    let recent: i64 = sql("SELECT count(*) FROM karen_events").parse().unwrap();
    assert!(recent > 1, "the sample's writes have events too");
    let mut child = Command::new(env!("CARGO_BIN_EXE_karen"))
        .args(["--database-url", &db, "serve", "--listen", "127.0.0.1:0", "--event-retention-days", "7"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut left = recent;
    for _ in 0..200 {
        left = sql("SELECT count(*) FROM karen_events").parse().unwrap();
        if left == recent - 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(left, recent - 1, "only the old event went");
    assert_eq!(sql("SELECT count(*) FROM karen_events WHERE occurred_at < '2026-02-01'"), "0");
    std::fs::remove_dir_all(dir).unwrap();
}
