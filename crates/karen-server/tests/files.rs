//! Attachment bytes over HTTP (decisions.md item 22) against a real server: multipart and raw
//! uploads, the limit refused before the body is read, downloads with their headers, ranges and
//! ETags, a blob corrupted on disk, and virus scanning with a real clamd (KAREN_TEST_CLAMD,
//! started by .ci/run with the signature database tests/clamd/start.sh writes).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A customer with one message on `s`; the message's id.
async fn message(s: &TestServer, email: &str) -> String {
    let (_, c) = s.call(Method::POST, "/v1/customers", "/v1/customers", Some(json!({"primary_email": email}))).await;
    let (st, m) = s
        .call(
            Method::POST,
            "/v1/conversations",
            "/v1/conversations",
            Some(json!({"customer_id": c["id"], "medium": "email", "direction": "inbound", "content": "see attached",
                "message_timestamp": "2026-11-30T10:00:00Z"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    m["id"].as_str().unwrap().to_string()
}

fn upload_path(message: &str, query: &str) -> String {
    format!("/v1/conversations/{message}/attachments{query}")
}

const UPLOAD: &str = "/v1/conversations/{id}/attachments";
const CONTENT: &str = "/v1/attachments/{id}/content";

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let st = resp.status();
    (st, resp.json().await.unwrap_or(Value::Null))
}

/// Sends `head` and then `pieces` of a body on a plain connection (ignoring a body the server
/// stops reading) and returns the status of the answer.
async fn raw_status(s: &TestServer, head: &str, pieces: &[Vec<u8>]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(s.base.trim_start_matches("http://")).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    for p in pieces {
        if conn.write_all(p).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf)).await.expect("an answer in time") {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_string();
    line.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status in {line:?}"))
}

/// The EICAR test file, assembled at run time so this source is not itself one.
fn eicar() -> Vec<u8> {
    let mut v = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$".to_vec();
    v.extend_from_slice(b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_downloads_over_http() {
    let s = TestServer::start(Backend::Sqlite).await;
    let m = message(&s, "http-files@example.com").await;

    // multipart/form-data, with a checksum field before the file part.
    let photo: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let checksum = karen_core::blob::BlobKey::of(&photo).checksum();
    let form = reqwest::multipart::Form::new().text("checksum", checksum.clone()).part(
        "file",
        reqwest::multipart::Part::bytes(photo.clone()).file_name("Küche leak.jpg").mime_str("image/jpeg").unwrap(),
    );
    let (st, row) =
        json_of(s.request(Method::POST, UPLOAD, &upload_path(&m, "")).multipart(form).send().await.unwrap()).await;
    assert_eq!(st, StatusCode::CREATED, "{row}");
    assert_eq!(row["file_name"], "Küche leak.jpg");
    assert_eq!(row["file_type"], "image/jpeg");
    assert_eq!(row["file_size"], 200_000);
    assert_eq!(row["checksum"], checksum);
    assert_eq!(row["virus_scan_status"], "skipped");
    let id = row["id"].as_str().unwrap().to_string();

    // The whole content, with its headers.
    let resp = s.request(Method::GET, CONTENT, &format!("/v1/attachments/{id}/content")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["content-length"], "200000");
    assert_eq!(h["etag"].to_str().unwrap(), format!("\"{checksum}\""));
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"K_che leak.jpg\"; filename*=UTF-8''K%C3%BCche%20leak%2Ejpg"
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), photo.as_slice());

    // A range, a suffix range, one past the end, and a matching ETag.
    let get = |range: &'static str| {
        s.request(Method::GET, CONTENT, &format!("/v1/attachments/{id}/content")).header("range", range).send()
    };
    let resp = get("bytes=100-199").await.unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.headers()["content-range"], "bytes 100-199/200000");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &photo[100..200]);
    let resp = get("bytes=-10").await.unwrap();
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &photo[199_990..]);
    let resp = get("bytes=200000-").await.unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(resp.headers()["content-range"], "bytes */200000");
    let resp = s
        .request(Method::GET, CONTENT, &format!("/v1/attachments/{id}/content"))
        .header("if-none-match", format!("\"{checksum}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);

    // A raw body; a claimed checksum that differs; no file name; a form without a file part.
    let raw = |q: &str, body: &'static [u8]| {
        s.request(Method::POST, UPLOAD, &upload_path(&m, q)).header("content-type", "application/pdf").body(body).send()
    };
    let (st, row) =
        json_of(raw("?filename=quote.pdf&inline=true&content_id=q1", b"%PDF-1.7 quote").await.unwrap()).await;
    assert_eq!(
        (st, row["file_type"].as_str(), row["is_inline"].as_bool()),
        (StatusCode::CREATED, Some("application/pdf"), Some(true)),
        "{row}"
    );
    let wrong = format!("?filename=quote.pdf&checksum=sha256:{}", "0".repeat(64));
    let (st, e) = json_of(raw(&wrong, b"%PDF-1.7 quote").await.unwrap()).await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("checksum")), "{e}");
    let (st, e) = json_of(raw("", b"x").await.unwrap()).await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("filename")), "{e}");
    let (st, e) = json_of(raw("?filename=..%2F..%2Fetc%2Fpasswd", b"x").await.unwrap()).await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("file_name")), "{e}");
    let form = reqwest::multipart::Form::new().text("checksum", "sha256:00");
    let (st, e) =
        json_of(s.request(Method::POST, UPLOAD, &upload_path(&m, "")).multipart(form).send().await.unwrap()).await;
    assert_eq!((st, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("file")), "{e}");
    // A part after the file part would come too late: refused, nothing stored.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"late".to_vec()).file_name("late.txt"))
        .text("checksum", "sha256:00");
    let (st, e) =
        json_of(s.request(Method::POST, UPLOAD, &upload_path(&m, "")).multipart(form).send().await.unwrap()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    // Over the limit: 413 from Content-Length, before the body is read: a client that waits
    // for 100 Continue never sends its 100 MiB, one that does not is answered after 64 KiB.
    let path = upload_path(&m, "?filename=big.bin");
    let head = |extra: &str| {
        format!("POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/octet-stream\r\nContent-Length: 104857600\r\n{extra}\r\n", s.token)
    };
    assert_eq!(raw_status(&s, &head("Expect: 100-continue\r\n"), &[]).await, 413);
    assert_eq!(raw_status(&s, &head(""), &[vec![0u8; 64 * 1024]]).await, 413);
    // And without a length (chunked): 413 once the limit is passed.
    let chunked = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        s.token
    );
    let piece = |n: usize| {
        let mut v = format!("{n:x}\r\n").into_bytes();
        v.extend(std::iter::repeat_n(1u8, n));
        v.extend_from_slice(b"\r\n");
        v
    };
    let pieces: Vec<Vec<u8>> = (0..3).map(|_| piece(1024 * 1024)).collect();
    assert_eq!(raw_status(&s, &chunked, &pieces).await, 413);

    // The message has the two uploads and nothing of the refused ones.
    let (_, page) = s.call(Method::GET, "/v1/attachments", &format!("/v1/attachments?conversation_id={m}"), None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");

    // unsafe=true needs the admin scope.
    let resp = s
        .client
        .get(format!("{}/v1/attachments/{id}/content?unsafe=true", s.base))
        .bearer_auth(&s.read_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // Corrupted on disk behind karen's back: the response never arrives whole.
    let key = karen_core::blob::BlobKey::of(&photo);
    let path = s.blob_dir.join(key.relative_path());
    let mut damaged = photo.clone();
    damaged[150_000] ^= 0xff;
    std::fs::write(&path, &damaged).unwrap();
    // (The connection ends with an error: before the headers when the whole blob is one chunk,
    // else after part of the body.)
    let got = match s.request(Method::GET, CONTENT, &format!("/v1/attachments/{id}/content")).send().await {
        Ok(resp) => resp.bytes().await.map(|b| b.len()).ok(),
        Err(_) => None,
    };
    assert!(got.is_none_or(|n| n < photo.len()), "a corrupt blob must never arrive complete: {got:?}");
    std::fs::remove_file(&path).unwrap();
    let (st, e) = s.call(Method::GET, CONTENT, &format!("/v1/attachments/{id}/content"), None).await;
    assert_eq!(
        (st, e["type"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("urn:karen:problem:internal")),
        "{e}"
    );
    s.stop().await;
}

/// clamd's address, started by .ci/run.
fn clamd() -> Arc<dyn karen_core::blob::Scanner> {
    let address = std::env::var("KAREN_TEST_CLAMD").expect("KAREN_TEST_CLAMD names a running clamd (see .ci/run)");
    Arc::new(karen_blobs::Clamd::parse(&address).unwrap())
}

/// Polls the row of attachment `id` until `done` holds (the server's background scan).
async fn row_until(s: &TestServer, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let (_, row) = s.call(Method::GET, "/v1/attachments/{id}", &format!("/v1/attachments/{id}"), None).await;
        if done(&row) {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("attachment {id} never reached the state waited for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clamd_catches_the_eicar_file_and_passes_a_clean_one() {
    let config = karen_server::ServerConfig { scan_interval: Duration::from_millis(100), ..Default::default() };
    let s = TestServer::start_scanning(Backend::Sqlite, config, Some(clamd())).await;
    let m = message(&s, "scanned@example.com").await;
    let up = |name: &str, body: Vec<u8>| {
        s.request(Method::POST, UPLOAD, &upload_path(&m, &format!("?filename={name}")))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    let (st, bad) = json_of(up("invoice.pdf", eicar()).await.unwrap()).await;
    assert_eq!((st, bad["virus_scan_status"].as_str()), (StatusCode::CREATED, Some("pending")), "{bad}");
    let (_, good) = json_of(up("photo.jpg", b"just a photo of a faucet".to_vec()).await.unwrap()).await;
    let (bad_id, good_id) = (bad["id"].as_str().unwrap().to_string(), good["id"].as_str().unwrap().to_string());

    let bad = row_until(&s, &bad_id, |r| r["virus_scan_status"] != "pending").await;
    assert_eq!(bad["virus_scan_status"], "infected", "{bad}");
    assert_eq!(bad["virus_scan_result"]["engine"], "ClamAV");
    assert!(bad["virus_scan_result"]["signature"].as_str().unwrap().starts_with("Karen-Test-EICAR"), "{bad}");
    assert!(bad["virus_scan_result"]["engine_version"].as_str().is_some_and(|v| !v.is_empty()));
    assert!(bad["virus_scan_result"]["scanned_at"].is_string());
    let good = row_until(&s, &good_id, |r| r["virus_scan_status"] != "pending").await;
    assert_eq!(good["virus_scan_status"], "clean", "{good}");
    assert_eq!(good["virus_scan_result"]["signature"], Value::Null);

    // Infected content is served only to an admin who asks for it.
    let (st, e) = s.call(Method::GET, CONTENT, &format!("/v1/attachments/{bad_id}/content"), None).await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert!(e["rule"].as_str().unwrap().contains("infected"), "{e}");
    let resp =
        s.request(Method::GET, CONTENT, &format!("/v1/attachments/{bad_id}/content?unsafe=true")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), eicar().as_slice());
    let resp = s.request(Method::GET, CONTENT, &format!("/v1/attachments/{good_id}/content")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clamd_down_keeps_attachments_pending_then_error() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let scanner: Arc<dyn karen_core::blob::Scanner> = Arc::new(karen_blobs::Clamd::parse(&address).unwrap());
    let config = karen_server::ServerConfig { scan_interval: Duration::from_millis(50), ..Default::default() };
    let s = TestServer::start_scanning(Backend::Sqlite, config, Some(scanner)).await;
    let m = message(&s, "unscanned@example.com").await;
    let (_, row) = json_of(
        s.request(Method::POST, UPLOAD, &upload_path(&m, "?filename=a.txt"))
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = row["id"].as_str().unwrap().to_string();
    let retried = row_until(&s, &id, |r| r["virus_scan_result"]["attempts"].as_i64().is_some_and(|a| a >= 1)).await;
    assert_eq!(retried["virus_scan_status"], "pending", "a failed scan is retried: {retried}");
    let (st, _) = s.call(Method::GET, CONTENT, &format!("/v1/attachments/{id}/content"), None).await;
    assert_eq!(st, StatusCode::CONFLICT, "pending content is not served");
    let failed = row_until(&s, &id, |r| r["virus_scan_status"] == "error").await;
    assert_eq!(failed["virus_scan_result"]["attempts"], karen_core::karen::MAX_SCAN_ATTEMPTS, "{failed}");
    assert!(failed["virus_scan_result"]["error"].as_str().unwrap().contains(&address), "{failed}");
    s.stop().await;
}
