//! Bearer tokens with scopes. A token is `krn_` and 64 hex digits drawn from the operating
//! system's random source; only `sha256:<hex>` of it is stored, so a stolen database does not
//! hand out working tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header::AUTHORIZATION, Method};
use axum::middleware::Next;
use axum::response::Response;
use karen_core::model::{ApiToken, Scope};
use karen_core::query::PageRequest;
use karen_core::{Karen, Store, StoreResult, Value};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::server::App;

/// A new random token. Two UUIDv4 values give 244 random bits from the OS generator.
pub fn generate_token() -> String {
    format!("krn_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Creates a token with `scopes` and returns it with its stored row; the token is not kept.
pub async fn create_token<S: Store>(karen: &Karen<S>, name: &str, scopes: &[Scope]) -> StoreResult<(String, ApiToken)> {
    let token = generate_token();
    let row = karen
        .create(ApiToken {
            name: name.to_string(),
            scopes: scopes.iter().map(|s| s.as_str().to_string()).collect(),
            token_hash: hash_token(&token),
            ..Default::default()
        })
        .await?;
    Ok((token, row))
}

/// The token row with this stored hash, if it exists (revoked or not).
async fn find_by_hash<S: Store>(karen: &Karen<S>, hash: String) -> StoreResult<Option<ApiToken>> {
    let page = karen.list::<ApiToken>(&[("token_hash", Value::Text(hash))], &PageRequest::of(1)).await?;
    Ok(page.items.into_iter().next())
}

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
    let found = find_by_hash(&app.karen, hash.clone()).await?.filter(|t| t.revoked_at.is_none());
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
    fn tokens_are_random_and_hashed() {
        let (a, b) = (generate_token(), generate_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        let h = hash_token(&a);
        assert_eq!(h.len(), 71);
        assert!(h.starts_with("sha256:"));
        assert_eq!(h, hash_token(&a));
        assert_ne!(h, hash_token(&b));
        // Known vector: SHA-256 of "abc".
        assert_eq!(hash_token("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn scopes_by_route() {
        assert_eq!(required_scope(&Method::GET, "/v1/customers"), Scope::Read);
        assert_eq!(required_scope(&Method::PATCH, "/v1/customers/x"), Scope::Write);
        assert_eq!(required_scope(&Method::GET, "/v1/tokens"), Scope::Admin);
    }
}
