//! A small client of Firestore's REST API (v1): documents, queries, batched reads and
//! transactions, to the emulator or to Google's service with [`Credentials`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use karen_core::{StoreError, StoreResult};
use serde_json::{json, Value as Json};

use crate::auth::Credentials;

/// Google's Firestore service.
pub const GOOGLE_ENDPOINT: &str = "https://firestore.googleapis.com";

/// How many times a transaction aborted by contention is run again.
const TRANSACTION_ATTEMPTS: usize = 12;

/// The pause before attempt `round + 1` of an aborted transaction: exponential (10 ms doubling,
/// at most 640 ms) with full jitter in its upper half, so transactions that collided on one
/// document (messages of one customer) do not collide again in step.
fn backoff(round: usize) -> Duration {
    let base = 10u64 << round.min(6);
    let jitter = (uuid::Uuid::new_v4().as_u128() % (base as u128 / 2 + 1)) as u64;
    Duration::from_millis(base / 2 + jitter)
}

/// A REST client bound to one project's default database.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `http://host:port/v1` or `https://firestore.googleapis.com/v1`.
    api: String,
    /// `projects/{project}/databases/(default)/documents`.
    root: String,
    credentials: Credentials,
    /// Every structured query sent, when recording (the index-coverage test).
    log: Option<std::sync::Arc<std::sync::Mutex<Vec<Json>>>>,
    /// What this client and its clones have asked of Firestore.
    usage: std::sync::Arc<Usage>,
    /// This process's transactions take turns, from their beginning to their commit: each
    /// reads and advances the event counter ([`crate::events`]), so two at once would abort
    /// each other, and a turn taken only around the counter would wait, holding it, for the
    /// other's document locks (the emulator's are pessimistic) while the other waits for it.
    turns: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Counts of what a client asked: the figures a Firestore operator pays for.
#[derive(Debug, Default)]
pub struct Usage {
    rpcs: AtomicU64,
    documents_read: AtomicU64,
}

impl Usage {
    /// Calls made to the API (each HTTP request is one RPC).
    pub fn rpcs(&self) -> u64 {
        self.rpcs.load(Ordering::Relaxed)
    }

    /// Documents returned by reads and queries (Firestore bills a query that returns nothing
    /// as one read; this counts documents only).
    pub fn documents_read(&self) -> u64 {
        self.documents_read.load(Ordering::Relaxed)
    }

    fn read(&self, n: usize) {
        self.documents_read.fetch_add(n as u64, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("api", &self.api).field("root", &self.root).finish()
    }
}

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiFailure {
    /// HTTP status.
    pub http: u16,
    /// gRPC status name (`ABORTED`, `ALREADY_EXISTS`, `FAILED_PRECONDITION`, ...).
    pub status: String,
    /// Message.
    pub message: String,
}

impl ApiFailure {
    /// A failure before any request: no credentials.
    fn unavailable(e: StoreError) -> ApiFailure {
        ApiFailure { http: 0, status: "UNAVAILABLE".into(), message: e.to_string() }
    }

    fn into_store(self) -> StoreError {
        match self.status.as_str() {
            "UNAVAILABLE" | "DEADLINE_EXCEEDED" | "RESOURCE_EXHAUSTED" => StoreError::Unavailable(self.message),
            "UNAUTHENTICATED" | "PERMISSION_DENIED" => StoreError::Unavailable(format!(
                "Firestore refused karen's credentials ({} {}): {}",
                self.http, self.status, self.message
            )),
            "ALREADY_EXISTS" | "FAILED_PRECONDITION" | "ABORTED" => {
                StoreError::Conflict { entity: "document", rule: format!("a concurrent write won: {}", self.message) }
            }
            _ => StoreError::backend(std::io::Error::other(format!(
                "firestore {} {}: {}",
                self.http, self.status, self.message
            ))),
        }
    }
}

/// A future borrowed for one transaction attempt.
pub type Attempt<'a, T> = Pin<Box<dyn Future<Output = StoreResult<(T, Vec<Json>)>> + Send + 'a>>;

impl Client {
    /// A client for `project` at `endpoint` (`http://host:port` for the emulator, else
    /// [`GOOGLE_ENDPOINT`] or another endpoint of Google's API), authorized by `credentials`.
    pub fn new(project: &str, endpoint: &str, credentials: Credentials) -> StoreResult<Client> {
        if project.is_empty() || project.contains('/') {
            return Err(StoreError::invalid("database_url", "firestore://PROJECT needs a project id"));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot build an HTTP client: {e}")))?;
        Ok(Client {
            http,
            api: format!("{}/v1", endpoint.trim_end_matches('/')),
            root: format!("projects/{project}/databases/(default)/documents"),
            credentials,
            log: None,
            usage: Default::default(),
            turns: Default::default(),
        })
    }

    /// Records every structured query this client sends into `log`.
    pub fn record_queries(&mut self, log: std::sync::Arc<std::sync::Mutex<Vec<Json>>>) {
        self.log = Some(log);
    }

    /// What this client (and every clone of it) has asked of Firestore so far.
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// The full resource name of a document path such as `customers/abc`.
    pub fn name(&self, path: &str) -> String {
        format!("{}/{path}", self.root)
    }

    /// The document path of a full resource name.
    pub fn path_of<'a>(&self, name: &'a str) -> &'a str {
        name.strip_prefix(&self.root).map_or(name, |p| p.trim_start_matches('/'))
    }

    /// One request; a token Firestore refuses (401) is renewed and the request sent once more.
    async fn call(&self, method: reqwest::Method, url: String, body: Option<Json>) -> Result<Json, ApiFailure> {
        let (token, generation) = self.credentials.bearer().await.map_err(ApiFailure::unavailable)?;
        let answer = self.send(method.clone(), &url, body.as_ref(), &token).await;
        match answer {
            Err(e)
                if e.http == 401 && self.credentials.refused(generation).await.map_err(ApiFailure::unavailable)? =>
            {
                let (token, _) = self.credentials.bearer().await.map_err(ApiFailure::unavailable)?;
                self.send(method, &url, body.as_ref(), &token).await
            }
            other => other,
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Json>,
        token: &str,
    ) -> Result<Json, ApiFailure> {
        self.usage.rpcs.fetch_add(1, Ordering::Relaxed);
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| ApiFailure {
            http: 0,
            status: "UNAVAILABLE".into(),
            message: e.to_string(),
        })?;
        let http = resp.status().as_u16();
        let text =
            resp.text().await.map_err(|e| ApiFailure { http, status: "UNAVAILABLE".into(), message: e.to_string() })?;
        let json: Json =
            if text.is_empty() { Json::Null } else { serde_json::from_str(&text).unwrap_or(Json::String(text)) };
        if (200..300).contains(&http) {
            return Ok(json);
        }
        let err = json.get("error").or_else(|| json.as_array().and_then(|a| a.first()).and_then(|e| e.get("error")));
        Err(ApiFailure {
            http,
            status: err.and_then(|e| e.get("status")).and_then(|s| s.as_str()).unwrap_or("UNKNOWN").to_string(),
            message: err.and_then(|e| e.get("message")).and_then(|s| s.as_str()).unwrap_or("").to_string(),
        })
    }

    /// Reads a document; `None` when it does not exist.
    pub async fn get(&self, path: &str, tx: Option<&str>) -> StoreResult<Option<Json>> {
        if tx.is_some() {
            // Reads inside a transaction go through batchGet (the emulator does not answer a
            // GET with a transaction parameter).
            return Ok(self.batch_get(&[path.to_string()], tx).await?.pop().flatten());
        }
        let url = format!("{}/{}", self.api, self.name(path));
        match self.call(reqwest::Method::GET, url, None).await {
            Ok(doc) => {
                self.usage.read(1);
                Ok(Some(doc))
            }
            Err(e) if e.http == 404 => Ok(None),
            Err(e) => Err(e.into_store()),
        }
    }

    /// Reads several documents in one call, in the order asked; `None` for missing ones.
    pub async fn batch_get(&self, paths: &[String], tx: Option<&str>) -> StoreResult<Vec<Option<Json>>> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<String> = paths.iter().map(|p| self.name(p)).collect();
        let mut body = json!({ "documents": names });
        if let Some(t) = tx {
            body["transaction"] = json!(t);
        }
        let url = format!("{}/{}:batchGet", self.api, self.root);
        let answer = self.call(reqwest::Method::POST, url, Some(body)).await.map_err(ApiFailure::into_store)?;
        let mut found = std::collections::HashMap::new();
        for item in answer.as_array().into_iter().flatten() {
            if let Some(doc) = item.get("found") {
                if let Some(n) = doc.get("name").and_then(|n| n.as_str()) {
                    found.insert(n.to_string(), doc.clone());
                }
            }
        }
        self.usage.read(found.len());
        Ok(names.iter().map(|n| found.get(n).cloned()).collect())
    }

    /// Runs a structured query under `parent` (a document path, or "" for the root).
    pub async fn query(&self, parent: &str, query: Json, tx: Option<&str>) -> StoreResult<Vec<Json>> {
        if let Some(log) = &self.log {
            log.lock().expect("query log").push(query.clone());
        }
        let mut body = json!({ "structuredQuery": query });
        if let Some(t) = tx {
            body["transaction"] = json!(t);
        }
        let base = if parent.is_empty() { self.root.clone() } else { self.name(parent) };
        let url = format!("{}/{base}:runQuery", self.api);
        let answer = self.call(reqwest::Method::POST, url, Some(body)).await.map_err(ApiFailure::into_store)?;
        let docs: Vec<Json> =
            answer.as_array().into_iter().flatten().filter_map(|r| r.get("document").cloned()).collect();
        self.usage.read(docs.len());
        Ok(docs)
    }

    /// Applies writes atomically, with the events they make ([`crate::events`]): a commit
    /// that carries events runs in a transaction that reads the event counter.
    pub async fn commit(&self, writes: Vec<Json>) -> StoreResult<()> {
        if !crate::events::has_events(self, &writes) {
            return self.commit_quiet(writes).await;
        }
        self.transaction(move |_| -> Attempt<'_, ()> {
            let writes = writes.clone();
            Box::pin(async move { Ok(((), writes)) })
        })
        .await
    }

    /// Applies writes atomically, outside a transaction and without events: for the children
    /// a cascade deletes before its parent (whose own event covers them), migrations and the
    /// event log's own pruning.
    pub async fn commit_quiet(&self, writes: Vec<Json>) -> StoreResult<()> {
        self.commit_in(writes, None).await.map_err(ApiFailure::into_store)
    }

    async fn commit_in(&self, writes: Vec<Json>, tx: Option<&str>) -> Result<(), ApiFailure> {
        if writes.is_empty() && tx.is_none() {
            return Ok(());
        }
        let mut body = json!({ "writes": writes });
        if let Some(t) = tx {
            body["transaction"] = json!(t);
        }
        let url = format!("{}/{}:commit", self.api, self.root);
        self.call(reqwest::Method::POST, url, Some(body)).await.map(|_| ())
    }

    /// Commits `writes` in `tx` with their events. The outer error is a failed read of the
    /// counter (the transaction is still open); the inner one the commit's answer.
    async fn commit_with_events(&self, mut writes: Vec<Json>, tx: &str) -> StoreResult<Result<(), ApiFailure>> {
        crate::events::append(self, tx, &mut writes).await?;
        Ok(self.commit_in(writes, Some(tx)).await)
    }

    async fn begin(&self) -> StoreResult<String> {
        let url = format!("{}/{}:beginTransaction", self.api, self.root);
        let answer = self.call(reqwest::Method::POST, url, Some(json!({}))).await.map_err(ApiFailure::into_store)?;
        answer
            .get("transaction")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| StoreError::backend(std::io::Error::other("beginTransaction returned no transaction")))
    }

    async fn rollback(&self, tx: &str) {
        let url = format!("{}/{}:rollback", self.api, self.root);
        let _ = self.call(reqwest::Method::POST, url, Some(json!({ "transaction": tx }))).await;
    }

    /// Runs `attempt` in a read-write transaction and commits the writes it returns; runs it
    /// again when the transaction is aborted by a concurrent one.
    pub async fn transaction<T, F>(&self, mut attempt: F) -> StoreResult<T>
    where
        F: for<'a> FnMut(&'a str) -> Attempt<'a, T>,
    {
        let mut last = None;
        for round in 0..TRANSACTION_ATTEMPTS {
            let turn = self.turns.lock().await;
            let tx = self.begin().await?;
            let outcome = async {
                let (value, writes) = attempt(&tx).await?;
                Ok((value, self.commit_with_events(writes, &tx).await?))
            }
            .await;
            match outcome {
                Ok((value, committed)) => match committed {
                    Ok(()) => return Ok(value),
                    Err(e) if e.status == "ABORTED" => {
                        last = Some(e);
                        drop(turn);
                        tokio::time::sleep(backoff(round)).await;
                    }
                    Err(e) => return Err(e.into_store()),
                },
                Err(err) => {
                    self.rollback(&tx).await;
                    match &err {
                        StoreError::Conflict { rule, .. } if rule.starts_with("a concurrent write won") => {
                            drop(turn);
                            tokio::time::sleep(backoff(round)).await;
                            last = Some(ApiFailure { http: 409, status: "ABORTED".into(), message: rule.clone() });
                        }
                        _ => return Err(err),
                    }
                }
            }
        }
        Err(last.map_or_else(|| StoreError::Unavailable("transaction kept aborting".into()), ApiFailure::into_store))
    }
}
