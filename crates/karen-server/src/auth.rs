//! Bearer tokens with scopes on every route that states one. Tokens are minted and hashed in
//! core ([`karen_core::karen::hash_token`]); this checks a presented one, with a short cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header::AUTHORIZATION, Method};
use axum::middleware::Next;
use axum::response::Response;
use karen_core::karen::hash_token;
use karen_core::model::{ApiToken, Scope};
use karen_core::{Store, StoreResult};

use crate::error::ApiError;
use crate::server::App;

/// Most tokens kept; the cache is emptied when it would grow beyond (a flood of bad tokens is
/// never cached: only valid ones are).
const TOKEN_CACHE_MAX: usize = 10_000;

/// Tokens verified within the last `ttl`, by stored hash, so a request does not cost a token
/// query: measured, the query was as expensive as a keyed lookup itself (docs/performance.md).
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (ApiToken, Instant)>>,
}

impl TokenCache {
    /// An empty cache trusting a verification for `ttl` (zero: never cached).
    pub fn new(ttl: Duration) -> Self {
        TokenCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    fn get(&self, hash: &str) -> Option<ApiToken> {
        let entries = self.entries.lock().expect("token cache");
        entries.get(hash).filter(|(_, at)| at.elapsed() < self.ttl).map(|(t, _)| t.clone())
    }

    fn put(&self, hash: String, token: ApiToken) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("token cache");
        if entries.len() >= TOKEN_CACHE_MAX {
            entries.clear();
        }
        entries.insert(hash, (token, Instant::now()));
    }

    /// Forgets every verification (after a revocation through this server).
    pub fn clear(&self) {
        self.entries.lock().expect("token cache").clear();
    }
}

/// The valid (existing, unrevoked) token row of a presented token, from the cache or the store.
async fn valid_token<S: Store>(app: &App<S>, presented: &str) -> StoreResult<Option<ApiToken>> {
    let hash = hash_token(presented);
    if let Some(token) = app.tokens.get(&hash) {
        return Ok(Some(token));
    }
    let found = app.karen.token_by_hash(&hash).await?.filter(|t| t.revoked_at.is_none());
    if let Some(token) = &found {
        app.tokens.put(hash, token.clone());
    }
    Ok(found)
}

/// The scope a request needs: token routes need admin, reads need read, everything else write.
pub fn required_scope(method: &Method, path: &str) -> Scope {
    if path.starts_with("/v1/tokens") {
        Scope::Admin
    } else if method == Method::GET || method == Method::HEAD {
        Scope::Read
    } else {
        Scope::Write
    }
}

/// Middleware on every route but the health checks: 401 without a valid, unrevoked token,
/// 403 when its scopes do not include what the route needs.
pub async fn require_token<S: Store>(
    State(app): State<Arc<App<S>>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <token>"))?;
    let token = valid_token(&app, presented).await?.ok_or_else(|| ApiError::unauthorized("the token is not valid"))?;
    let needed = required_scope(req.method(), req.uri().path());
    if !token.allows(needed) {
        return Err(ApiError::forbidden(needed.as_str()));
    }
    tracing::Span::current().record("token_id", tracing::field::display(token.id));
    req.extensions_mut().insert(token);
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_by_route() {
        assert_eq!(required_scope(&Method::GET, "/v1/customers"), Scope::Read);
        assert_eq!(required_scope(&Method::PATCH, "/v1/customers/x"), Scope::Write);
        assert_eq!(required_scope(&Method::GET, "/v1/tokens"), Scope::Admin);
    }
}
