//! Google's Application Default Credentials with a service-account key
//! (`GOOGLE_APPLICATION_CREDENTIALS`), end to end: karen signs a JWT with the key, a local
//! token endpoint checks it with the key's public half and issues short-lived access tokens,
//! and a front door that refuses requests without a live token passes the rest to the real
//! Firestore emulator (`FIRESTORE_EMULATOR_HOST`). The key is made by `openssl` for each run.
//!
//! One test in this binary: it sets process environment variables.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use karen_core::model::Customer;
use karen_core::{Karen, StoreError};
use karen_firestore::auth::{Credentials, SCOPE};
use karen_firestore::FirestoreStore;
use serde_json::{json, Value as Json};

/// The local token endpoint and front door.
struct Google {
    /// The service account's public key, DER `RSAPublicKey`.
    public_key: Mutex<Vec<u8>>,
    client_email: String,
    token_uri: Mutex<String>,
    /// Lifetime of the tokens it issues, seconds.
    expires_in: AtomicU64,
    /// Live tokens and when each expires.
    tokens: Mutex<HashMap<String, Instant>>,
    issued: AtomicU64,
    refused_grants: AtomicU64,
    unauthorized: AtomicU64,
    emulator: String,
    http: reqwest::Client,
}

impl Google {
    fn counts(&self) -> (u64, u64, u64) {
        (
            self.issued.load(Ordering::SeqCst),
            self.refused_grants.load(Ordering::SeqCst),
            self.unauthorized.load(Ordering::SeqCst),
        )
    }

    /// Checks a JWT-bearer grant as Google's token endpoint does: the signature with the
    /// account's public key, then issuer, audience, scope and lifetime.
    fn check_grant(&self, body: &str) -> Result<(), String> {
        let form: HashMap<String, String> = body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (percent_decode(k), percent_decode(v)))
            .collect();
        if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
            return Err(format!("grant_type {:?}", form.get("grant_type")));
        }
        let jwt = form.get("assertion").ok_or("no assertion")?;
        let parts: Vec<&str> = jwt.split('.').collect();
        if parts.len() != 3 {
            return Err("not a JWT".into());
        }
        let decode = |s: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|e| e.to_string())
        };
        let header: Json = serde_json::from_slice(&decode(parts[0])?).map_err(|e| e.to_string())?;
        if header["alg"] != "RS256" {
            return Err(format!("alg {}", header["alg"]));
        }
        let signed = format!("{}.{}", parts[0], parts[1]);
        let key = self.public_key.lock().unwrap().clone();
        ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, key)
            .verify(signed.as_bytes(), &decode(parts[2])?)
            .map_err(|_| "the signature does not verify with the account's public key".to_string())?;
        let claims: Json = serde_json::from_slice(&decode(parts[1])?).map_err(|e| e.to_string())?;
        let now = chrono::Utc::now().timestamp();
        let (iat, exp) = (claims["iat"].as_i64().unwrap_or(0), claims["exp"].as_i64().unwrap_or(0));
        let checks = [
            (claims["iss"] == self.client_email.as_str(), "iss"),
            (claims["aud"] == self.token_uri.lock().unwrap().as_str(), "aud"),
            (claims["scope"] == SCOPE, "scope"),
            ((now - 60..=now + 60).contains(&iat), "iat"),
            (exp > now && exp - iat <= 3600, "exp"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, claim)) => Err(format!("claim {claim} is wrong: {claims}")),
            None => Ok(()),
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

async fn token(State(g): State<Arc<Google>>, body: String) -> Response {
    if let Err(why) = g.check_grant(&body) {
        g.refused_grants.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant", "error_description": why})))
            .into_response();
    }
    let n = g.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let expires_in = g.expires_in.load(Ordering::SeqCst);
    let access_token = format!("ya29.test-{n}-{}", uuid::Uuid::new_v4().simple());
    g.tokens.lock().unwrap().insert(access_token.clone(), Instant::now() + Duration::from_secs(expires_in));
    axum::Json(json!({"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"})).into_response()
}

/// Every other request: refused without a live token, as Google's front door refuses it;
/// otherwise passed to the emulator.
async fn front_door(
    State(g): State<Arc<Google>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bearer = headers.get("authorization").and_then(|h| h.to_str().ok()).and_then(|h| h.strip_prefix("Bearer "));
    let live = bearer.and_then(|t| g.tokens.lock().unwrap().get(t).copied()).is_some_and(|exp| exp > Instant::now());
    if !live {
        g.unauthorized.fetch_add(1, Ordering::SeqCst);
        let error = json!({"error": {"code": 401, "status": "UNAUTHENTICATED",
                                      "message": "Request had invalid authentication credentials."}});
        return (StatusCode::UNAUTHORIZED, axum::Json(error)).into_response();
    }
    let url = format!("http://{}{}", g.emulator, uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let sent = g
        .http
        .request(method, url)
        .bearer_auth("owner")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the emulator answers");
    let status = StatusCode::from_u16(sent.status().as_u16()).unwrap();
    (status, sent.bytes().await.unwrap()).into_response()
}

/// A 2048-bit RSA key from openssl: the PKCS#8 PEM of the private key and the DER
/// `RSAPublicKey` of its public half.
fn key_pair(dir: &std::path::Path, name: &str) -> (String, Vec<u8>) {
    let pem = dir.join(format!("{name}.pem"));
    let der = dir.join(format!("{name}.der"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).output().expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem.to_str().unwrap()]);
    run(&["rsa", "-in", pem.to_str().unwrap(), "-RSAPublicKey_out", "-outform", "DER", "-out", der.to_str().unwrap()]);
    (std::fs::read_to_string(pem).unwrap(), std::fs::read(der).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_key_gets_tokens_renewed_before_expiry_and_after_a_401() {
    let emulator = std::env::var("FIRESTORE_EMULATOR_HOST").expect("FIRESTORE_EMULATOR_HOST names the emulator");
    let dir = std::env::temp_dir().join(format!("karen-google-auth-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (private_pem, public_der) = key_pair(&dir, "account");
    let project = format!("karen-auth-{}", uuid::Uuid::new_v4().simple());
    let client_email = format!("karen@{project}.iam.gserviceaccount.com");
    let google = Arc::new(Google {
        public_key: Mutex::new(public_der),
        client_email: client_email.clone(),
        token_uri: Mutex::new(String::new()),
        expires_in: AtomicU64::new(3600),
        tokens: Mutex::default(),
        issued: AtomicU64::new(0),
        refused_grants: AtomicU64::new(0),
        unauthorized: AtomicU64::new(0),
        emulator,
        http: reqwest::Client::new(),
    });
    let app =
        axum::Router::new().route("/token", axum::routing::post(token)).fallback(front_door).with_state(google.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let token_uri = format!("http://{addr}/token");
    *google.token_uri.lock().unwrap() = token_uri.clone();
    let key_file = dir.join("key.json");
    let key = json!({
        "type": "service_account", "project_id": project, "private_key_id": "k1",
        "private_key": private_pem, "client_email": client_email, "client_id": "1",
        "token_uri": token_uri,
    });
    std::fs::write(&key_file, key.to_string()).unwrap();

    // The environment as a production serve sees it: a key file and nothing else.
    std::env::remove_var("GOOGLE_OAUTH_ACCESS_TOKEN");
    std::env::set_var("GOOGLE_APPLICATION_CREDENTIALS", &key_file);
    let credentials = Credentials::from_environment().await.unwrap();
    assert!(matches!(credentials, Credentials::Google(_)), "{credentials:?}");
    let karen = Karen::new(FirestoreStore::google(&project, &format!("http://{addr}"), credentials).unwrap());

    // The first call signs a grant; the endpoint verifies it and the token opens the door.
    let customer = karen.create(Customer { primary_email: Some("adc@example.com".into()), ..Default::default() }).await;
    let customer = customer.unwrap();
    assert_eq!(google.counts(), (1, 0, 0), "one token, no grant refused, no request refused");
    assert_eq!(karen.get::<Customer>(customer.id).await.unwrap(), customer);
    assert_eq!(google.counts().0, 1, "the token is reused while it is fresh");

    // Tokens that live 22 s: karen asks for the next one 20 s before each expires, so the
    // front door never sees an expired token while calls go on for 5 s.
    google.expires_in.store(22, Ordering::SeqCst);
    google.tokens.lock().unwrap().clear();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        assert_eq!(karen.get::<Customer>(customer.id).await.unwrap(), customer);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (issued, refused, unauthorized) = google.counts();
    assert!(issued >= 3, "the short-lived tokens were renewed: {issued} issued");
    assert_eq!((refused, unauthorized), (0, 1), "only the revoked first token was refused once");

    // A token revoked before its expiry: the 401 makes karen fetch a new one and retry.
    google.expires_in.store(3600, Ordering::SeqCst);
    assert_eq!(karen.get::<Customer>(customer.id).await.unwrap(), customer);
    let before = google.counts();
    google.tokens.lock().unwrap().clear();
    assert_eq!(karen.get::<Customer>(customer.id).await.unwrap(), customer, "the call succeeds after the 401");
    let after = google.counts();
    assert_eq!((after.0 - before.0, after.1 - before.1, after.2 - before.2), (1, 0, 1), "one 401, one new token");

    // The account's key is replaced at Google: grants signed with the old key are refused,
    // and the call fails as the store being unavailable, saying why.
    let (_, other_public) = key_pair(&dir, "other");
    *google.public_key.lock().unwrap() = other_public;
    google.tokens.lock().unwrap().clear();
    let err = karen.get::<Customer>(customer.id).await.unwrap_err();
    match &err {
        StoreError::Unavailable(why) => assert!(why.contains("cannot get a Google access token"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(google.counts().1 >= 1, "the endpoint refused the grant signed with the old key");
    std::fs::remove_dir_all(&dir).ok();
}
