//! Attachment bytes through the `karen` binary: stored by `ingest`, carried by `export` and
//! `import` (a blob directory beside the file, or inline), checked by `blobs verify`, swept by
//! `blobs sweep`, scanned by `scan` with a real clamd (KAREN_TEST_CLAMD, see .ci/run).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_karen"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("KAREN_BLOB_URL")
        .env_remove("KAREN_CLAMD")
        .output()
        .expect("run karen")
}

fn ok(url: &str, args: &[&str]) -> String {
    let out = run(url, args);
    assert!(
        out.status.success(),
        "karen {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A folder of its own per database, so each has its own `karen-blobs` beside it.
fn db(root: &Path, name: &str) -> (String, PathBuf) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    (format!("sqlite://{}", dir.join("karen.db").display()), dir.join("karen-blobs"))
}

/// An e-mail with one attachment whose bytes are `body`.
fn mail(dir: &Path, id: &str, body: &str) -> PathBuf {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    let raw = format!(
        "From: dana@example.com\r\nTo: office@757handy.com\r\nMessage-ID: <{id}@example.com>\r\nSubject: photo\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n\
         See the photo.\r\n--XX\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=leak.png\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--XX--\r\n"
    );
    let path = dir.join(format!("{id}.eml"));
    std::fs::write(&path, raw).unwrap();
    path
}

fn blob_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(p) {
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir.join("sha256"), &mut out);
    out
}

fn temp_root() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("karen-cli-blobs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bytes_travel_with_export_and_import_and_are_verified_and_swept() {
    let root = temp_root();
    let (a, a_blobs) = db(&root, "a");
    let identity = ["--business-address", "office@757handy.com"];
    let eml = mail(&root, "m1", "the photo of the leak");
    let mut args = vec!["ingest", "email", eml.to_str().unwrap()];
    args.extend_from_slice(&identity);
    ok(&a, &args);
    assert_eq!(blob_files(&a_blobs).len(), 1, "the part's bytes are stored beside the database");
    let verified: serde_json::Value = serde_json::from_str(&ok(&a, &["blobs", "verify"])).unwrap();
    assert_eq!((verified["checked"].as_u64(), verified["bytes"].as_u64()), (Some(1), Some(21)));

    // Export with a blob directory, import elsewhere: the bytes come along, checked.
    let dump = root.join("a.jsonl");
    ok(&a, &["export", "--output", dump.to_str().unwrap()]);
    let exported = blob_files(&root.join("a.jsonl.blobs"));
    assert_eq!(exported.len(), 1);
    let (b, b_blobs) = db(&root, "b");
    ok(&b, &["import", "--input", dump.to_str().unwrap()]);
    assert_eq!(blob_files(&b_blobs).len(), 1);
    let verified: serde_json::Value = serde_json::from_str(&ok(&b, &["blobs", "verify"])).unwrap();
    assert_eq!(verified["checked"], 1, "the imported row names the target's own copy: {verified}");
    // A rerun changes nothing.
    ok(&b, &["import", "--input", dump.to_str().unwrap()]);

    // Inline: base64 lines in the JSON Lines themselves.
    let inline = ok(&a, &["export", "--blobs", "inline"]);
    assert!(inline.lines().any(|l| l.contains("\"kind\":\"blob\"")), "a blob line");
    let inline_path = root.join("inline.jsonl");
    std::fs::write(&inline_path, &inline).unwrap();
    let (c, c_blobs) = db(&root, "c");
    ok(&c, &["import", "--input", inline_path.to_str().unwrap()]);
    assert_eq!(blob_files(&c_blobs).len(), 1);

    // A blob corrupted in the export's directory is refused on import, naming its line.
    std::fs::write(&exported[0], "not the photo").unwrap();
    let (d, _) = db(&root, "d");
    let out = run(&d, &["import", "--input", dump.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("corrupt") && said.contains("line "), "{said}");

    // Corrupt and missing in the store itself: verify fails naming the attachment.
    let stored = blob_files(&a_blobs).remove(0);
    std::fs::write(&stored, "damaged").unwrap();
    let out = run(&a, &["blobs", "verify"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("is corrupt"), "{said}");
    std::fs::remove_file(&stored).unwrap();
    let out = run(&a, &["blobs", "verify"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("is missing"));

    // The sweep: rows deleted by another program leave their bytes until the sweep, which keeps
    // what is recent unless told otherwise.
    let b_db = b.trim_start_matches("sqlite://");
    let deleted = Command::new("sqlite3").arg(b_db).arg("DELETE FROM conversation_attachments").status().unwrap();
    assert!(deleted.success());
    let swept: serde_json::Value = serde_json::from_str(&ok(&b, &["blobs", "sweep"])).unwrap();
    assert_eq!((swept["removed"].as_u64(), swept["recent"].as_u64()), (Some(0), Some(1)), "{swept}");
    let swept: serde_json::Value = serde_json::from_str(&ok(&b, &["blobs", "sweep", "--grace-minutes", "0"])).unwrap();
    assert_eq!(swept["removed"], 1, "{swept}");
    assert!(blob_files(&b_blobs).is_empty());
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn scan_sends_pending_attachments_to_clamd() {
    let clamd = std::env::var("KAREN_TEST_CLAMD").expect("KAREN_TEST_CLAMD names a running clamd (see .ci/run)");
    let root = temp_root();
    let (a, _) = db(&root, "a");
    let eicar = format!("{}{}", "X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");
    for (id, body) in [("clean", "a photo"), ("bad", eicar.as_str())] {
        let eml = mail(&root, id, body);
        ok(
            &a,
            &["--clamd", &clamd, "ingest", "email", eml.to_str().unwrap(), "--business-address", "office@757handy.com"],
        );
    }
    let out = run(&a, &["scan"]);
    assert!(!out.status.success(), "scan without a scanner says so");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--clamd"));
    let report: serde_json::Value = serde_json::from_str(&ok(&a, &["--clamd", &clamd, "scan"])).unwrap();
    assert_eq!((report["clean"].as_u64(), report["infected"].as_u64()), (Some(1), Some(1)), "{report}");
    let again: serde_json::Value = serde_json::from_str(&ok(&a, &["--clamd", &clamd, "scan"])).unwrap();
    assert_eq!((again["clean"].as_u64(), again["infected"].as_u64()), (Some(0), Some(0)), "nothing pending: {again}");
    let _ = std::fs::remove_dir_all(root);
}
