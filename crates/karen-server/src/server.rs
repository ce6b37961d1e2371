//! Assembling the router (routes, auth, limits, request ids, tracing) and serving it with
//! graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::HeaderName;
use axum::{middleware, Extension, Router};
use karen_core::{Karen, Store};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
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
}

impl Default for ServerConfig {
    fn default() -> Self {
        // A 1 MB message with its JSON envelope fits.
        ServerConfig { max_body_bytes: 4 * 1024 * 1024, token_cache_ttl: std::time::Duration::from_secs(2) }
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
    router
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(app)
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
pub async fn serve<S: Store>(
    listener: tokio::net::TcpListener,
    karen: Karen<S>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(Arc::new(karen), config);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
