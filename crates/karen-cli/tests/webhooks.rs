//! Webhooks end to end (issue 20): `karen serve` delivering to a local receiver that fails on
//! purpose (500s, a closed connection, answers slower than the timeout), while another
//! process writes to the same SQLite file. Every wanted event arrives, signed as Standard
//! Webhooks, in order per customer; a target that never answers disables its subscription
//! after the schedule; and a `serve` killed with -9 while a delivery is in flight delivers
//! that event again when it comes back.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use karen_core::enums::{Direction, Medium, PreferenceMedium, PreferenceSource, PreferenceType};
use karen_core::model::{Conversation, Customer, CustomerPreference};
use karen_core::Karen;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What a receiver saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    headers: HashMap<String, String>,
    body: Vec<u8>,
    /// The status it answered, if it answered in time to count.
    answered: Option<u16>,
}

/// How a receiver treats the attempts of each event.
#[derive(Clone, Copy)]
enum Plan {
    /// Attempt 1: 500; attempt 2: a closed connection, an answer after 1.5 s (past the 1 s
    /// timeout) or 503, by turns; attempt 3 on: 200.
    Flaky,
    /// The first request is held unanswered until the test says; every later one: 200.
    HoldFirst,
}

type Log = Arc<Mutex<Vec<Seen>>>;

struct Receiver {
    url: String,
    log: Log,
    /// Signalled when a held request has arrived; signal `release` to drop it.
    arrived: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

async fn receiver(plan: Plan) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/karen", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let (arrived, release) = (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()));
    let (l, a, r) = (log.clone(), arrived.clone(), release.clone());
    tokio::spawn(async move {
        let turn = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let (log, arrived, release, turn) = (l.clone(), a.clone(), r.clone(), turn.clone());
            tokio::spawn(async move {
                let Some((headers, body)) = read_request(&mut conn).await else { return };
                let id = headers.get("webhook-id").cloned().unwrap_or_default();
                let (index, earlier) = {
                    let log = log.lock().unwrap();
                    let earlier = log.iter().filter(|s| s.headers.get("webhook-id") == Some(&id)).count();
                    (log.len(), earlier)
                };
                log.lock().unwrap().push(Seen { headers, body, answered: None });
                let answer = |code: u16| async move {
                    let text = format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                    let _ = conn.write_all(text.as_bytes()).await;
                    code
                };
                let code = match (plan, earlier) {
                    (Plan::Flaky, 0) => Some(answer(500).await),
                    (Plan::Flaky, 1) => match turn.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 3 {
                        0 => None, // closed without an answer
                        1 => {
                            tokio::time::sleep(Duration::from_millis(1500)).await;
                            let _ = answer(200).await;
                            None // too late: karen has given up on this attempt
                        }
                        _ => Some(answer(503).await),
                    },
                    (Plan::HoldFirst, 0) if index == 0 => {
                        arrived.notify_one();
                        release.notified().await;
                        None
                    }
                    _ => Some(answer(200).await),
                };
                if let Some(code) = code {
                    log.lock().unwrap()[index].answered = Some(code);
                }
            });
        }
    });
    Receiver { url, log, arrived, release }
}

/// Reads one HTTP/1.1 request: its headers (lower-case names) and its body.
async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<(HashMap<String, String>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((headers, body))
}

/// Whether `seen` carries a valid Standard Webhooks signature of its body under `secret`,
/// checked here independently of karen's own signing code.
fn signed(seen: &Seen, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    let (id, ts) = (&seen.headers["webhook-id"], &seen.headers["webhook-timestamp"]);
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&seen.body);
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    seen.headers["webhook-signature"].split(' ').any(|s| s == expected)
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("karen-webhooks-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn admin_token(db: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_karen"))
        .args(["--database-url", db, "token", "create", "--name", "hooks", "--scope", "read,write,admin"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `karen serve` on `db`, allowing private webhook targets, with a short retry schedule.
fn serve(db: &str, schedule: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_karen"))
        .args(["--database-url", db, "serve", "--listen", "127.0.0.1:0", "--webhook-timeout", "1"])
        .env("KAREN_ALLOW_PRIVATE_WEBHOOKS", "true")
        .env("KAREN_WEBHOOK_RETRY_SCHEDULE", schedule)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("karen prints its address").unwrap();
        if let Some(a) = line.strip_prefix("karen listening on ") {
            break a.to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

async fn call(method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Another process's writes: `customers` customers, each created and sent `messages`
/// messages one after the other (customers side by side), plus a preference each.
async fn write(path: &Path, customers: usize, messages: usize) -> Vec<(uuid::Uuid, Vec<uuid::Uuid>)> {
    let karen = Arc::new(Karen::new(karen_sqlite::SqliteStore::open_with(path, 2).await.unwrap()));
    let mut tasks = Vec::new();
    for c in 0..customers {
        let karen = karen.clone();
        tasks.push(tokio::spawn(async move {
            let customer = karen
                .create(Customer { primary_email: Some(format!("hook{c}@example.com")), ..Default::default() })
                .await
                .unwrap();
            let mut made = vec![customer.id];
            for m in 0..messages {
                let message = karen
                    .create(Conversation {
                        customer_id: customer.id,
                        medium: Medium::Sms,
                        direction: Direction::Inbound,
                        content: format!("message {m}"),
                        message_timestamp: karen.now(),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                made.push(message.id);
            }
            karen
                .upsert_preference(CustomerPreference {
                    customer_id: customer.id,
                    preference_type: PreferenceType::Custom,
                    preference_key: "gate_code".into(),
                    preference_value: json!({"value": "1234"}),
                    confidence_score: "0.9".parse().unwrap(),
                    source: PreferenceSource::Explicit,
                    medium: PreferenceMedium::General,
                    ..Default::default()
                })
                .await
                .unwrap();
            (customer.id, made)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    karen.store().close().await;
    out
}

/// Waits until `done` holds, for at most `secs` seconds.
async fn until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..secs * 20 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within {secs} s: {what}");
}

fn body(seen: &Seen) -> Value {
    serde_json::from_slice(&seen.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_receiver_gets_every_event_signed_and_in_order_per_customer() {
    let dir = temp_dir();
    let path = dir.join("karen.db");
    let db = format!("sqlite://{}", path.display());
    let token = admin_token(&db);
    let (mut server, addr) = serve(&db, "100ms,100ms,100ms,100ms");
    let flaky = receiver(Plan::Flaky).await;

    // A subscription: its secret is shown once, and never again.
    let (st, hook) = call(
        reqwest::Method::POST,
        format!("{addr}/v1/webhooks"),
        &token,
        Some(json!({"url": flaky.url, "types": ["customer.created", "conversation.created"], "description": "flaky"})),
    )
    .await;
    assert_eq!(st, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{hook}");
    let id = hook["id"].as_str().unwrap().to_string();
    let (st, listed) = call(reqwest::Method::GET, format!("{addr}/v1/webhooks"), &token, None).await;
    assert_eq!(st, 200);
    assert_eq!(listed["items"][0]["id"], json!(id));
    assert!(listed["items"][0].get("secret").is_none() && !listed.to_string().contains(&secret), "{listed}");
    let (_, one) = call(reqwest::Method::GET, format!("{addr}/v1/webhooks/{id}"), &token, None).await;
    assert!(one.get("secret").is_none(), "{one}");
    for (body, field) in [
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": "http://user:pw@example.com/x"}), "url"),
        (json!({"url": "http://example.com/x", "types": ["customer.sent"]}), "types"),
        (json!({"url": "http://example.com/x", "secret": "whsec_mine"}), "secret"),
    ] {
        let (st, problem) =
            call(reqwest::Method::POST, format!("{addr}/v1/webhooks"), &token, Some(body.clone())).await;
        assert!((400..500).contains(&st), "{body}: {st} {problem}");
        assert!(problem.to_string().contains(field), "{body}: {problem}");
    }

    // A target that never answers: disabled after its five attempts, with the reason.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}/gone", dead.local_addr().unwrap());
    drop(dead);
    let (st, gone) = call(
        reqwest::Method::POST,
        format!("{addr}/v1/webhooks"),
        &token,
        Some(json!({"url": dead_url, "types": ["customer.created"]})),
    )
    .await;
    assert_eq!(st, 201, "{gone}");
    let gone_id = gone["id"].as_str().unwrap().to_string();

    // Another process writes; the flaky receiver must get every wanted event.
    let written = write(&path, 3, 5).await;
    let wanted: usize = written.iter().map(|(_, ids)| ids.len()).sum();
    let log = flaky.log.clone();
    let delivered = || {
        let log = log.lock().unwrap();
        let ids: std::collections::HashSet<_> =
            log.iter().filter(|s| s.answered == Some(200)).map(|s| s.headers["webhook-id"].clone()).collect();
        ids.len()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while delivered() < wanted && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if delivered() < wanted {
        // What the server says of the subscription and its attempts, to tell a stall from a
        // disabled subscription.
        let (_, state) = call(reqwest::Method::GET, format!("{addr}/v1/webhooks/{id}"), &token, None).await;
        let (_, attempts) =
            call(reqwest::Method::GET, format!("{addr}/v1/webhooks/{id}/deliveries?limit=200"), &token, None).await;
        let answers: Vec<_> =
            log.lock().unwrap().iter().map(|s| (s.headers["webhook-id"].clone(), s.answered)).collect();
        panic!(
            "not within 90 s: {} of {wanted} events delivered\nsubscription: {state}\nattempts: {attempts}\nreceiver: {answers:?}",
            delivered()
        );
    }

    let log = flaky.log.lock().unwrap().clone();
    assert!(log.iter().all(|s| signed(s, &secret)), "every request is signed with the subscription's secret");
    assert!(log.iter().all(|s| s.headers["content-type"] == "application/json"));
    for s in &log {
        assert_eq!(body(s)["id"].as_str().unwrap(), s.headers["webhook-id"], "webhook-id is the event's id");
    }
    // Per customer: the entities in the order they were written, each delivered once it
    // succeeded, and no attempt of a later event before the earlier one was delivered.
    for (customer, ids) in &written {
        let mine: Vec<&Seen> = log.iter().filter(|s| body(s)["customer_id"] == json!(customer)).collect();
        let firsts: Vec<String> = {
            let mut out: Vec<String> = Vec::new();
            for s in &mine {
                let e = body(s)["entity_id"].as_str().unwrap().to_string();
                if out.last() != Some(&e) {
                    assert!(!out.contains(&e), "an event came back after a later one was attempted");
                    out.push(e);
                }
            }
            out
        };
        let expected: Vec<String> = ids.iter().map(|u| u.to_string()).collect();
        assert_eq!(firsts, expected, "customer {customer}: in order");
        assert!(mine.iter().all(|s| body(s)["type"] != "preference.created"), "types not asked for are not sent");
    }
    assert!(log.iter().any(|s| s.answered == Some(500)) && log.iter().any(|s| s.answered.is_none()));

    // The deliveries: every attempt recorded, the failures with what went wrong.
    let (st, attempts) =
        call(reqwest::Method::GET, format!("{addr}/v1/webhooks/{id}/deliveries?limit=500"), &token, None).await;
    assert_eq!(st, 200, "{attempts}");
    let attempts = attempts["items"].as_array().unwrap().clone();
    let delivered = attempts.iter().filter(|a| a["outcome"] == "delivered").count();
    assert_eq!(delivered, wanted, "one delivered attempt per event");
    assert!(attempts.iter().any(|a| a["response_status"] == 500 && a["error"].is_string()));
    assert!(attempts.iter().any(|a| a["response_status"].is_null() && a["error"].is_string()));
    assert!(attempts.iter().filter(|a| a["outcome"] == "failed").all(|a| a["next_attempt_at"].is_string()));

    // The dead target: disabled after 1 + 4 attempts of its first event.
    let mut disabled = Value::Null;
    for _ in 0..200 {
        let (_, h) = call(reqwest::Method::GET, format!("{addr}/v1/webhooks/{gone_id}"), &token, None).await;
        if h["status"] == "disabled" {
            disabled = h;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(disabled["status"], "disabled", "{disabled}");
    assert!(disabled["disabled_reason"].as_str().unwrap().contains("failed all 5 attempts"), "{disabled}");
    let (_, tries) = call(reqwest::Method::GET, format!("{addr}/v1/webhooks/{gone_id}/deliveries"), &token, None).await;
    let tries = tries["items"].as_array().unwrap().clone();
    assert!(tries.iter().all(|t| t["outcome"] == "failed"), "{tries:?}");
    // Its three customers' events were tried side by side; the first to run out had five.
    let last = tries.iter().find(|t| t["attempt"] == 5).expect("an event tried five times");
    assert!(last["next_attempt_at"].is_null(), "no attempt after the last: {last}");
    let of_it: Vec<_> = tries.iter().filter(|t| t["event_id"] == last["event_id"]).collect();
    assert_eq!(of_it.iter().map(|t| t["attempt"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert!(tries.iter().all(|t| t["attempt"].as_i64().unwrap() <= 5), "nothing after the subscription was disabled");
    // Enabled again, it clears the reason.
    let (st, back) = call(
        reqwest::Method::PATCH,
        format!("{addr}/v1/webhooks/{gone_id}"),
        &token,
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!((st, &back["status"], &back["disabled_reason"]), (200, &json!("active"), &Value::Null), "{back}");
    let (st, _) =
        call(reqwest::Method::PATCH, format!("{addr}/v1/webhooks/{gone_id}"), &token, Some(json!({"cursor": "x"})))
            .await;
    assert_eq!(st, 422);
    // Deleted, it is gone with its records.
    let resp = reqwest::Client::new()
        .delete(format!("{addr}/v1/webhooks/{gone_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (st, _) = call(reqwest::Method::GET, format!("{addr}/v1/webhooks/{gone_id}/deliveries"), &token, None).await;
    assert_eq!(st, 404);

    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_in_flight_when_serve_is_killed_is_delivered_again() {
    let dir = temp_dir();
    let path = dir.join("karen.db");
    let db = format!("sqlite://{}", path.display());
    let token = admin_token(&db);
    let (mut server, addr) = serve(&db, "100ms");
    let held = receiver(Plan::HoldFirst).await;
    let (st, hook) = call(
        reqwest::Method::POST,
        format!("{addr}/v1/webhooks"),
        &token,
        Some(json!({"url": held.url, "types": ["customer.created"]})),
    )
    .await;
    assert_eq!(st, 201, "{hook}");
    let written = write(&path, 2, 0).await;

    // The first delivery reached the receiver; serve dies before it hears the answer.
    tokio::time::timeout(Duration::from_secs(30), held.arrived.notified()).await.expect("a first delivery");
    let first = held.log.lock().unwrap()[0].headers["webhook-id"].clone();
    let killed = Command::new("kill").args(["-KILL", &server.id().to_string()]).status().unwrap();
    assert!(killed.success());
    server.wait().unwrap();
    held.release.notify_one();

    let (mut again, addr) = serve(&db, "100ms");
    let log = held.log.clone();
    until(30, "both customers delivered after the restart", || {
        let log = log.lock().unwrap();
        written.iter().all(|(c, _)| log.iter().any(|s| s.answered == Some(200) && body(s)["entity_id"] == json!(c)))
    })
    .await;
    let log = held.log.lock().unwrap().clone();
    let times = log.iter().filter(|s| s.headers["webhook-id"] == first).count();
    assert!(times >= 2, "the event in flight was delivered again ({times} requests)");
    let id = hook["id"].as_str().unwrap();
    let mut records = Vec::new();
    for _ in 0..100 {
        let url = format!("{addr}/v1/webhooks/{id}/deliveries?outcome=delivered");
        let (_, page) = call(reqwest::Method::GET, url, &token, None).await;
        records = page["items"].as_array().cloned().unwrap_or_default();
        if records.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(records.iter().any(|r| r["event_id"] == json!(first)), "{records:?}");
    again.kill().unwrap();
    again.wait().unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
