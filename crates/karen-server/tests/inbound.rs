//! The inbound routes over real HTTP on SQLite and PostgreSQL: every message of the corpus is
//! stored (201, then 200 for its redelivery) or refused with a 4xx naming the problem, never a
//! 5xx and never half-written; Twilio's webhooks are verified by their signature, computed here
//! as Twilio documents it, before anything is stored.

mod common;

use common::{inbound_config, Backend, TestServer, PUBLIC_URL, TWILIO_TOKEN};
use karen_inbound::corpus::{samples, Expect};
use reqwest::StatusCode;
use serde_json::Value;

/// Rows of a table, read from the database as another program would.
async fn count(s: &TestServer, table: &str) -> i64 {
    let (path, pg) =
        (s.database_url.strip_prefix("sqlite://").map(str::to_string), s.database_url.starts_with("postgres"));
    let sql = format!("SELECT COUNT(*) FROM {table}");
    if pg {
        let pool = sqlx::PgPool::connect(&s.database_url).await.unwrap();
        let n: i64 = sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    } else {
        let out = std::process::Command::new("sqlite3").arg(path.unwrap()).arg(&sql).output().expect("sqlite3");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

async fn corpus_over_http(backend: Backend) {
    let server = TestServer::start_with(backend, inbound_config()).await;
    let s = &server;
    for sample in samples(true) {
        let (before, files) = (count(s, "conversations").await, count(s, "conversation_attachments").await);
        let post =
            || s.post_raw("/v1/inbound/email", "/v1/inbound/email", "message/rfc822", sample.raw.clone(), &[], true);
        let (st, _, body) = post().await;
        assert!(st.is_client_error() || st.is_success(), "{}: {st} {body}", sample.name);
        match &sample.expect {
            Expect::Stored { attachments } => {
                assert_eq!(st, StatusCode::CREATED, "{}: {body}", sample.name);
                let got: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(got["attachment_ids"].as_array().map(Vec::len), Some(*attachments), "{}", sample.name);
                assert_eq!(count(s, "conversations").await, before + 1, "{}", sample.name);
                assert_eq!(count(s, "conversation_attachments").await, files + *attachments as i64, "{}", sample.name);
                let (again, _, body) = post().await;
                assert_eq!(again, StatusCode::OK, "{}: a redelivery: {body}", sample.name);
                assert_eq!(count(s, "conversations").await, before + 1, "{}: nothing written twice", sample.name);
            }
            Expect::Refused(field) => {
                assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{}: {body}", sample.name);
                let problem: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(problem["field"], *field, "{}: {problem}", sample.name);
                assert_eq!(count(s, "conversations").await, before, "{}: nothing stored", sample.name);
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_message_is_stored_or_refused_on_sqlite() {
    corpus_over_http(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_message_is_stored_or_refused_on_postgres() {
    corpus_over_http(Backend::Postgres).await;
}

fn form(params: &[(&str, &str)]) -> (Vec<(String, String)>, Vec<u8>) {
    let owned: Vec<(String, String)> = params.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&owned).finish().into_bytes();
    (owned, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_webhooks_are_verified_before_anything_is_stored() {
    let server = TestServer::start_with(Backend::Sqlite, inbound_config()).await;
    twilio_checks(&server).await;
    server.stop().await;
}

async fn twilio_checks(s: &TestServer) {
    let route = "/v1/inbound/twilio/sms";
    let (params, body) =
        form(&[("MessageSid", "SM77"), ("From", "+17575550142"), ("To", "+17575550100"), ("Body", "STOP")]);
    let url = format!("{PUBLIC_URL}{route}");
    let good = karen_inbound::twilio::signature(TWILIO_TOKEN, &url, &params);
    let send = |sig: Option<String>, body: Vec<u8>, ty: &'static str| {
        let headers: Vec<(&str, String)> = sig.into_iter().map(|v| ("x-twilio-signature", v)).collect();
        async move { s.post_raw(route, route, ty, body, &headers, false).await }
    };
    let form_type = "application/x-www-form-urlencoded";
    for (sig, why) in [
        (None, "missing"),
        (Some(karen_inbound::twilio::signature("another token", &url, &params)), "another account's"),
        (
            Some(karen_inbound::twilio::signature(
                TWILIO_TOKEN,
                "https://elsewhere.test/v1/inbound/twilio/sms",
                &params,
            )),
            "another URL's",
        ),
        (Some("bm90IGl0".into()), "made up"),
    ] {
        let (st, ty, problem) = send(sig, body.clone(), form_type).await;
        assert_eq!((st, ty.as_str()), (StatusCode::FORBIDDEN, "application/problem+json"), "{why}: {problem}");
    }
    // A tampered body with the original signature.
    let (_, tampered) =
        form(&[("MessageSid", "SM77"), ("From", "+17575550199"), ("To", "+17575550100"), ("Body", "STOP")]);
    assert_eq!(send(Some(good.clone()), tampered, form_type).await.0, StatusCode::FORBIDDEN);
    assert_eq!(count(s, "conversations").await, 0, "nothing stored");
    assert_eq!(count(s, "customers").await, 0, "no customer created");
    assert_eq!(send(Some(good.clone()), body.clone(), "application/json").await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (st, ty, twiml) = send(Some(good.clone()), body.clone(), form_type).await;
    assert_eq!((st, ty.as_str()), (StatusCode::OK, "text/xml"), "{twiml}");
    assert_eq!(count(s, "conversations").await, 1);
    assert_eq!(count(s, "customer_consents").await, 1, "STOP applied in the message's write");
    assert_eq!(send(Some(good), body, form_type).await.0, StatusCode::OK, "a redelivery");
    assert_eq!(count(s, "conversations").await, 1, "stored once");

    // Bad parameters, signed: 422 naming the parameter.
    let (params, body) = form(&[("From", "+17575550142")]);
    let sig = karen_inbound::twilio::signature(TWILIO_TOKEN, &url, &params);
    let (st, _, problem) = send(Some(sig), body, form_type).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.contains("MessageSid"), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconfigured_twilio_routes_say_what_to_set_and_large_mail_is_refused() {
    let mut config = karen_server::ServerConfig::default();
    config.inbound.max_email_bytes = 64 * 1024;
    let s = TestServer::start_with(Backend::Sqlite, config).await;
    for route in ["/v1/inbound/twilio/sms", "/v1/inbound/twilio/voice"] {
        let (st, _, problem) =
            s.post_raw(route, route, "application/x-www-form-urlencoded", b"From=%2B1".to_vec(), &[], false).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
        assert!(problem.contains("--twilio-auth-token") && problem.contains("--public-url"), "{problem}");
    }
    let big = karen_inbound::corpus::message_with_attachment(1, 100 * 1024);
    let (st, _, problem) = s.post_raw("/v1/inbound/email", "/v1/inbound/email", "message/rfc822", big, &[], true).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    let small = karen_inbound::corpus::text_message(2, 1024);
    let (st, _, _) = s.post_raw("/v1/inbound/email", "/v1/inbound/email", "text/plain", small.clone(), &[], true).await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Without a business address every e-mail is inbound.
    let (st, _, body) = s.post_raw("/v1/inbound/email", "/v1/inbound/email", "message/rfc822", small, &[], true).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let (st, _, _) =
        s.post_raw("/v1/inbound/email", "/v1/inbound/email", "message/rfc822", b"x".to_vec(), &[], false).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "the e-mail route needs a token");
    s.stop().await;
}

/// MMS media on a configured host is fetched as the webhook's account (HTTP basic auth with the
/// auth token), stored in the attachment store, and its row gets the size and checksum of the bytes; media elsewhere, or that
/// cannot be fetched, is recorded by its URL only, and the message is stored either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mms_media_is_fetched_only_from_configured_hosts() {
    use axum::http::HeaderMap;
    // A file host standing where Twilio's media URLs point: it wants the account's credentials.
    let expected = format!("Basic {}", base64_of(&format!("AC123:{TWILIO_TOKEN}")));
    let files = axum::Router::new().route(
        "/media/{name}",
        axum::routing::get(move |headers: HeaderMap| {
            let ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
            async move {
                if ok {
                    (StatusCode::OK, b"\x89PNG fake image bytes".to_vec())
                } else {
                    (StatusCode::UNAUTHORIZED, Vec::new())
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, files).await });
    let mut config = inbound_config();
    config.inbound.media_hosts = vec![host.clone()];
    let s = TestServer::start_with(Backend::Sqlite, config).await;
    let route = "/v1/inbound/twilio/sms";
    let port = host.rsplit(':').next().unwrap();
    let send = |sid: &'static str, account: &'static str| {
        let urls = [format!("http://{host}/media/ME1"), format!("http://localhost:{port}/media/ME2")];
        let (params, body) = form(&[
            ("MessageSid", sid),
            ("AccountSid", account),
            ("From", "+17575550142"),
            ("To", "+17575550100"),
            ("Body", "photo"),
            ("NumMedia", "2"),
            ("MediaUrl0", &urls[0]),
            ("MediaContentType0", "image/png"),
            ("MediaUrl1", &urls[1]),
            ("MediaContentType1", "image/png"),
        ]);
        let sig = karen_inbound::twilio::signature(TWILIO_TOKEN, &format!("{PUBLIC_URL}{route}"), &params);
        let s = &s;
        async move {
            s.post_raw(route, route, "application/x-www-form-urlencoded", body, &[("x-twilio-signature", sig)], false)
                .await
        }
    };
    let attachments = |sid: &'static str| {
        let s = &s;
        async move {
            let url = s.database_url.strip_prefix("sqlite://").unwrap().to_string();
            let out = std::process::Command::new("sqlite3")
                .arg(url)
                .arg(format!(
                    "SELECT a.file_size, a.checksum, a.storage_path FROM conversation_attachments a \
                     JOIN conversations c ON c.id = a.conversation_id WHERE c.external_id = '{sid}' ORDER BY a.storage_path"
                ))
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect::<Vec<_>>()
        }
    };
    assert_eq!(send("MM1", "AC123").await.0, StatusCode::OK);
    let rows = attachments("MM1").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    // Fetched media is kept by karen: its row names the blob (the media URL stays in the
    // message's raw webhook parameters).
    let fetched = rows.iter().find(|r| r.contains("file://")).unwrap();
    let expected_sum = karen_inbound::email::sha256(b"\x89PNG fake image bytes");
    assert!(fetched.starts_with(&format!("21|{expected_sum}|file://")), "size and checksum of the bytes: {fetched}");
    let hex = expected_sum.trim_start_matches("sha256:");
    assert!(fetched.ends_with(hex), "{fetched}");
    assert!(s.blob_dir.join(format!("sha256/{}/{}/{hex}", &hex[0..2], &hex[2..4])).is_file(), "the bytes are stored");
    let elsewhere = rows.iter().find(|r| r.contains("localhost")).unwrap();
    assert!(elsewhere.starts_with("||"), "not a configured host: not fetched: {elsewhere}");
    // Another account's credentials are refused by the host: the message is stored, its media by URL.
    assert_eq!(send("MM2", "AC999").await.0, StatusCode::OK);
    assert!(attachments("MM2").await.iter().all(|r| r.starts_with("||")));
    s.stop().await;
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
