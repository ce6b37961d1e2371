//! A real karen server for tests: bound to 127.0.0.1:0 over a fresh SQLite file or PostgreSQL
//! database, with an admin token, stopped through its graceful-shutdown path.
// Each test file compiles this module on its own and uses part of it.
#![allow(dead_code)]

pub mod schema;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use karen_core::model::Scope;
use karen_core::{Karen, Store};
use karen_server::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

/// The Twilio auth token of the inbound test servers.
pub const TWILIO_TOKEN: &str = "twilio-test-token";
/// The public URL Twilio signs in the tests.
pub const PUBLIC_URL: &str = "https://karen.757handy.test";

/// The inbound configuration of the test servers.
pub fn inbound_config() -> karen_server::ServerConfig {
    karen_server::ServerConfig {
        inbound: karen_server::InboundConfig {
            rules: karen_core::inbound::InboundRules {
                identity: karen_core::inbound::BusinessIdentity::new(&["office@757handy.com"], &["+17575550100"])
                    .unwrap(),
                ..Default::default()
            },
            twilio_auth_token: Some(TWILIO_TOKEN.into()),
            public_url: Some(PUBLIC_URL.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The largest attachment the test servers accept: 2 MiB.
pub const MAX_ATTACHMENT_BYTES: u64 = 2 * 1024 * 1024;

/// Which store the server runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A scratch PostgreSQL database.
    Postgres,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Db(karen_postgres::testing::TestDb),
}

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// A token with every scope.
    pub token: String,
    /// A token with the read scope only.
    pub read_token: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The database the server runs on (`sqlite://PATH` or a PostgreSQL URL), for tests that
    /// write to it as another process would.
    pub database_url: String,
    /// (method, route template) of every call made through [`TestServer::call`].
    pub visited: Arc<Mutex<BTreeSet<(String, String)>>>,
    /// The directory of the server's attachment store.
    pub blob_dir: std::path::PathBuf,
    /// The server's own OpenAPI document, which every answer of [`TestServer::call`] must match.
    pub document: Value,
    shutdown: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
    cleanup: Cleanup,
}

async fn spawn<S: Store>(
    karen: Karen<S>,
    config: ServerConfig,
) -> (String, String, String, oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
    let (token, _) = karen.create_token("test-admin", &[Scope::Admin]).await.unwrap();
    let (read_token, _) = karen.create_token("test-reader", &[Scope::Read]).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(karen_server::serve(listener, karen, config, async {
        let _ = rx.await;
    }));
    (base, token, read_token, tx, handle)
}

impl TestServer {
    /// Starts a server on `backend` with the default configuration.
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, ServerConfig::default()).await
    }

    /// Starts a server on `backend` with `config`.
    pub async fn start_with(backend: Backend, config: ServerConfig) -> TestServer {
        Self::start_scanning(backend, config, None).await
    }

    /// Starts a server on `backend` with `config` whose attachments `scanner` scans.
    pub async fn start_scanning(
        backend: Backend,
        config: ServerConfig,
        scanner: Option<Arc<dyn karen_core::blob::Scanner>>,
    ) -> TestServer {
        let blob_dir = std::env::temp_dir().join(format!("karen-http-blobs-{}", uuid::Uuid::new_v4().simple()));
        let blobs = Arc::new(karen_blobs::DirStore::open(&blob_dir).unwrap());
        let files = || karen_core::karen::Files::new(blobs.clone(), scanner.clone(), MAX_ATTACHMENT_BYTES);
        let ((base, token, read_token, tx, handle), cleanup, database_url) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("karen-http-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir).unwrap();
                let store = karen_sqlite::SqliteStore::open_with(&dir.join("k.db"), 4).await.unwrap();
                let url = format!("sqlite://{}", dir.join("k.db").display());
                (spawn(Karen::new(store).with_files(files()), config).await, Cleanup::Dir(dir), url)
            }
            Backend::Postgres => {
                let db = karen_postgres::testing::TestDb::create().await;
                let store = karen_postgres::PgStore::connect(&db.url, 8).await.unwrap();
                store.migrate().await.unwrap();
                let url = db.url.clone();
                (spawn(Karen::new(store).with_files(files()), config).await, Cleanup::Db(db), url)
            }
        };
        let client = reqwest::Client::new();
        let document: Value =
            client.get(format!("{base}/openapi.json")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(document["openapi"], "3.1.0", "the server's document");
        TestServer {
            base,
            token,
            read_token,
            document,
            client,
            database_url,
            visited: Arc::default(),
            blob_dir,
            shutdown: Some(tx),
            handle,
            cleanup,
        }
    }

    /// Sends `method path` with an optional JSON body and the admin token; records `template`.
    pub async fn call(&self, method: Method, template: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let method_name = method.as_str().to_lowercase();
        let method_name = method_name.as_str();
        self.visited.lock().unwrap().insert((method_name.to_string(), template.to_string()));
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = resp.text().await.unwrap();
        let json =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        self.conforms(method_name, template, status.as_u16(), &content_type, &json);
        (status, json)
    }

    /// Panics unless an answer of a documented route matches the document: a documented status,
    /// content type and body.
    pub fn conforms(&self, method: &str, template: &str, status: u16, content_type: &str, body: &Value) {
        if self.document["paths"].get(template).is_none() {
            return; // A test of a route karen does not have.
        }
        let schema = schema::answer_schema(&self.document, method, template, status, content_type)
            .unwrap_or_else(|e| panic!("{e}: {body}"));
        if let Some(schema) = schema {
            if let Err(e) = schema::check(&self.document, schema, body, "body") {
                panic!("{method} {template} {status} does not match its documented schema: {e}");
            }
        }
    }

    /// A request `method path` with the admin token; records `template`.
    pub fn request(&self, method: Method, template: &str, path: &str) -> reqwest::RequestBuilder {
        self.visited.lock().unwrap().insert((method.as_str().to_lowercase(), template.to_string()));
        self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token)
    }

    /// POSTs raw `body` as `content_type` with extra `headers` (and the admin token when
    /// `token`); records `template`. Returns the status, the content type and the body.
    pub async fn post_raw(
        &self,
        template: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        headers: &[(&str, String)],
        token: bool,
    ) -> (StatusCode, String, String) {
        self.visited.lock().unwrap().insert(("post".into(), template.to_string()));
        let mut req = self.client.post(format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        if token {
            req = req.bearer_auth(&self.token);
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let ty = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (status, ty, resp.text().await.unwrap())
    }

    /// Starts graceful shutdown without waiting for it.
    pub fn signal_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server through graceful shutdown and removes its data.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.handle).await.expect("server task").expect("server ran without error");
        let _ = std::fs::remove_dir_all(&self.blob_dir);
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Db(db) => db.drop_db().await,
        }
    }
}
