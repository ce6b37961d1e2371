//! Bearer tokens with scopes on every route that states one. Tokens are minted and hashed in
//! core ([`karen_core::karen::hash_token`]); this checks a presented one, with a short cache.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use karen_core::karen::hash_token;
use karen_core::model::{ApiToken, Scope};
use karen_core::{Store, StoreResult};

use crate::app::App;
use crate::error::ApiError;

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

/// What the auth layer of one route holds: the app and the scope the route states.
pub struct Guard<S> {
    /// The app.
    pub app: Arc<App<S>>,
    /// The scope the route needs ([`crate::spec::RouteSpec::scope`]).
    pub scope: Scope,
}

impl<S> Clone for Guard<S> {
    fn clone(&self) -> Self {
        Guard { app: self.app.clone(), scope: self.scope }
    }
}

/// Middleware on every route that states a scope: 401 without a valid, unrevoked token, 403
/// when its scopes do not include the route's.
pub async fn require_token<S: Store>(
    State(Guard { app, scope: needed }): State<Guard<S>>,
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
    if !token.allows(needed) {
        return Err(ApiError::forbidden(needed.as_str()));
    }
    tracing::Span::current().record("token_id", tracing::field::display(token.id));
    req.extensions_mut().insert(token);
    Ok(next.run(req).await)
}
