//! Random and malformed requests at every route of the OpenAPI document, on SQLite and on
//! PostgreSQL: every answer is below 500 and the server stays up. Deterministic (a fixed seed,
//! `KAREN_FUZZ_SEED` to change it), bounded (`KAREN_FUZZ_ROUNDS` requests per operation).

mod common;

use common::{Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// xorshift64*: small, deterministic, good enough to pick inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const STRINGS: &[&str] = &[
    "",
    " ",
    "x",
    "email",
    "sms",
    "inbound",
    "active",
    "tiered",
    "bundle",
    "communication_method",
    "preferred_channel",
    "custom",
    "faucet",
    "0",
    "-1",
    "1.005",
    "1e309",
    "99999999999",
    "NaN",
    "true",
    "null",
    "ü",
    "🚰",
    "a\u{0}b",
    "'; DROP TABLE customers; --",
    "%",
    "../../etc/passwd",
    "2026-13-45T25:61:00Z",
    "2026-06-01T12:00:00Z",
    "2025-01-01",
    "+17575550100",
    "(757) 555-0100",
    "ann@example.com",
    "not-an-email",
    "Faucet Repair",
    "sha256:0000000000000000000000000000000000000000000000000000000000000000",
    "00000000-0000-0000-0000-000000000000",
    "01a21200-7941-7070-97dd-c4d0e9ac7d60",
    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
];

fn random_value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 3 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(*rng.pick(&[0i64, 1, -1, 5, 6, i64::from(i32::MAX) + 1, i64::MIN, 1_000_000_000_000])),
        3 => json!(*rng.pick(&[0.5f64, -0.01, 1.001, 1e30, 85.0, 0.85])),
        4 | 5 => json!(*rng.pick(STRINGS)),
        6 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                m.insert(rng.pick(STRINGS).to_string(), random_value(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

/// A body: mostly a plausible object of the schema's fields with random values, sometimes
/// plain garbage.
fn random_body(rng: &mut Rng, fields: &[String]) -> Vec<u8> {
    match rng.below(10) {
        0 => b"{".to_vec(),
        1 => b"not json at all".to_vec(),
        2 => format!("{}{}", "[".repeat(200), "]".repeat(200)).into_bytes(),
        3 => random_value(rng, 0).to_string().into_bytes(),
        4 => b"{\"a\":1,\"a\":2}".to_vec(),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..=rng.below(6) {
                let key = if fields.is_empty() || rng.below(8) == 0 {
                    rng.pick(STRINGS).to_string()
                } else {
                    rng.pick(fields).clone()
                };
                m.insert(key, random_value(rng, 0));
            }
            Value::Object(m).to_string().into_bytes()
        }
    }
}

async fn fuzz(backend: Backend) {
    let seed: u64 = std::env::var("KAREN_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x6b61_7265_6e21);
    let rounds: usize = std::env::var("KAREN_FUZZ_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(25);
    let mut rng = Rng(seed | 1);
    // Configured for Twilio (unsigned webhooks are then 403); the unconfigured 503 is tests/inbound.rs.
    let s = TestServer::start_with(backend, common::inbound_config()).await;
    let doc: Value = s
        .client
        .get(format!("{}/openapi.json", s.base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A few real rows, so some random ids hit something.
    let c: Value = s
        .client
        .post(format!("{}/v1/customers", s.base))
        .bearer_auth(&s.token)
        .json(&json!({"primary_email": "fuzz@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let real_id = c["id"].as_str().unwrap().to_string();
    let schemas = doc["components"]["schemas"].clone();
    let mut requests = 0usize;
    let mut failures = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let body_ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str().unwrap_or("");
            let fields: Vec<String> = body_ref
                .rsplit('/')
                .next()
                .and_then(|name| schemas[name]["properties"].as_object())
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            let params: Vec<String> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter().filter(|p| p["in"] == "query").map(|p| p["name"].as_str().unwrap().to_string()).collect()
                })
                .unwrap_or_default();
            for _ in 0..rounds {
                let mut concrete = path.clone();
                for name in ["{id}", "{thread_id}"] {
                    let value = match rng.below(4) {
                        0 => real_id.clone(),
                        1 => uuid::Uuid::now_v7().to_string(),
                        _ => urlencode(rng.pick::<&str>(STRINGS)),
                    };
                    concrete = concrete.replace(name, if value.is_empty() { "x" } else { &value });
                }
                let mut query = Vec::new();
                for _ in 0..rng.below(4) {
                    let name = if params.is_empty() || rng.below(6) == 0 {
                        "bogus".to_string()
                    } else {
                        rng.pick(&params).clone()
                    };
                    query.push(format!("{name}={}", urlencode(rng.pick::<&str>(STRINGS))));
                }
                let url = format!("{}{concrete}{}{}", s.base, if query.is_empty() { "" } else { "?" }, query.join("&"));
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut req = s.client.request(m, &url).bearer_auth(&s.token);
                if method != "get" && method != "delete" {
                    let ct = *rng.pick(&["application/json", "application/json", "application/json", "text/plain"]);
                    req = req.header("content-type", ct).body(random_body(&mut rng, &fields));
                }
                let resp = req.send().await.expect("the server answers");
                requests += 1;
                let status = resp.status();
                if status.is_server_error() {
                    let body = resp.text().await.unwrap_or_default();
                    failures.push(format!("{method} {url} -> {status}: {body}"));
                }
            }
        }
    }
    let health = s.client.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert!(health.status().is_success(), "the server is still up");
    assert!(requests > 500, "fuzzed {requests} requests");
    assert!(failures.is_empty(), "{} of {requests} requests got a 5xx:\n{}", failures.len(), failures.join("\n"));
    s.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_never_get_a_5xx_on_sqlite() {
    fuzz(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_never_get_a_5xx_on_postgres() {
    fuzz(Backend::Postgres).await;
}
