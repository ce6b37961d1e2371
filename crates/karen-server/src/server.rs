//! Assembling the router (routes, auth, limits, request ids, tracing) and serving it with
//! graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::{middleware, Extension, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use karen_core::model::Scope;
use karen_core::{Karen, Store};
use tokio::sync::Semaphore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::App;
use crate::auth::Guard;
use crate::error::ApiError;
use crate::extract::BodyLimit;
use crate::token_cache::TokenCache;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes (413 beyond it).
    pub max_body_bytes: usize,
    /// How long a verified token is trusted without asking the database again. A token revoked
    /// through this server stops working at once; one revoked by another process (the CLI, a
    /// second server) within this time (docs/decisions.md K24).
    pub token_cache_ttl: std::time::Duration,
    /// How long a client may take to send a request's headers; the connection is closed after
    /// it, so half-sent requests cannot hold connections open.
    pub header_read_timeout: Duration,
    /// How long a request may take from its headers to its answer (reading the body included);
    /// 408 after it.
    pub request_timeout: Duration,
    /// Connections served at once; further clients wait in the listen backlog until one ends.
    pub max_connections: usize,
    /// The inbound routes' configuration (business identity, Twilio, e-mail size).
    pub inbound: crate::inbound::InboundConfig,
    /// How often pending attachments are sent to the virus scanner, when one is configured.
    pub scan_interval: Duration,
    /// Days change events are kept; `serve` deletes older ones when it starts and then every
    /// [`ServerConfig::prune_interval`].
    pub event_retention_days: u32,
    /// How often old change events are deleted.
    pub prune_interval: Duration,
    /// How webhooks are delivered (and which addresses they may name).
    pub webhooks: crate::webhooks::WebhookConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            // A 1 MB message with its JSON envelope fits.
            max_body_bytes: 4 * 1024 * 1024,
            token_cache_ttl: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
            inbound: crate::inbound::InboundConfig::default(),
            scan_interval: Duration::from_secs(5),
            event_retention_days: karen_core::events::DEFAULT_RETENTION_DAYS,
            prune_interval: Duration::from_secs(3600),
            webhooks: crate::webhooks::WebhookConfig::default(),
        }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole API as a router.
pub fn router<S: Store>(karen: Arc<Karen<S>>, config: ServerConfig) -> Router {
    let routes = crate::routes::routes::<S>();
    let specs: Vec<_> = routes.iter().map(|r| r.spec.clone()).collect();
    let app = Arc::new(App {
        karen,
        openapi: Arc::new(crate::openapi::document(&specs)),
        tokens: TokenCache::new(config.token_cache_ttl),
        inbound: config.inbound.clone(),
        allow_private_webhooks: config.webhooks.allow_private,
    });
    let mut router = Router::new();
    for route in routes {
        // Each route's own scope guards it; a public route has none.
        let handler = match route.spec.scope {
            Some(scope) => route.handler.route_layer(middleware::from_fn_with_state(
                Guard { app: app.clone(), scope },
                crate::auth::require_token::<S>,
            )),
            None => route.handler,
        };
        router = router.route(&route.spec.path, handler);
    }
    // MCP's streamable HTTP transport (JSON-RPC, not in the OpenAPI document): any valid token;
    // its scopes decide which tools are listed and callable.
    let mcp = Router::new().route_service("/mcp", karen_mcp::http_service(app.karen.clone())).route_layer(
        middleware::from_fn_with_state(Guard { app: app.clone(), scope: Scope::Read }, crate::auth::require_token::<S>),
    );
    router
        .merge(mcp)
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(app)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, config.request_timeout))
        .layer(Extension(BodyLimit(config.max_body_bytes)))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(
            // Ids and the route template only: never query strings, bodies or contact details.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
                    let request_id =
                        req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
                    tracing::info_span!("request", method = %req.method(), route, request_id, token_id = tracing::field::Empty)
                })
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO))
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Serves the API on `listener` until `shutdown` completes, then finishes in-flight requests.
/// Each connection has [`ServerConfig::header_read_timeout`] to send its headers, and at most
/// [`ServerConfig::max_connections`] are served at once (the next is accepted when one ends).
pub async fn serve<S: Store>(
    listener: tokio::net::TcpListener,
    karen: Karen<S>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (header_timeout, max_connections) = (config.header_read_timeout, config.max_connections.max(1));
    let karen = Arc::new(karen);
    let scanning = karen.files().is_some_and(|f| f.scanner.is_some()).then(|| {
        let (karen, every) = (karen.clone(), config.scan_interval);
        tokio::spawn(async move { scan_forever(karen, every).await })
    });
    let pruning = {
        let (karen, days, every) = (karen.clone(), config.event_retention_days, config.prune_interval);
        tokio::spawn(async move { prune_forever(karen, days, every).await })
    };
    let delivering = {
        let (karen, webhooks) = (karen.clone(), config.webhooks.clone());
        tokio::spawn(async move { crate::webhooks::deliver_forever(karen, webhooks).await })
    };
    let app = router(karen, config);
    let slots = Arc::new(Semaphore::new(max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut builder = http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that goes away or stalls ends its own connection only.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    if let Some(task) = scanning {
        task.abort();
    }
    pruning.abort();
    delivering.abort();
    Ok(())
}

/// The retention of `serve` (docs/decisions.md K53): every `every` (the first at once), events
/// older than `days` days go; a failed pass is logged and the next one tries again.
async fn prune_forever<S: Store>(karen: Arc<Karen<S>>, days: u32, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match karen.prune_events(days).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, days, "pruned old change events"),
            Err(e) => tracing::warn!(error = %e, "pruning change events failed"),
        }
    }
}

/// The background scan of `serve` (decisions.md item 22): every `every`, pending attachments go
/// to the scanner; a pass that fails (the database down) is logged and the next one tries again.
async fn scan_forever<S: Store>(karen: Arc<Karen<S>>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match karen.scan_pending().await {
            Ok(r) if r.clean + r.infected + r.errors + r.retrying > 0 => tracing::info!(
                clean = r.clean,
                infected = r.infected,
                retrying = r.retrying,
                errors = r.errors,
                "scanned attachments"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "a scan pass failed"),
        }
    }
}
