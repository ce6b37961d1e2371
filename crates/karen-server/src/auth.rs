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

/// The credentials of an `Authorization: Bearer <token>` value. The scheme is matched
/// case-insensitively (RFC 9110 section 11.1) and may be followed by any run of spaces.
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(rest)
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
        .and_then(bearer_credentials)
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

#[cfg(test)]
mod tests {
    use super::bearer_credentials;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer krn_x", "bearer krn_x", "BEARER krn_x", "bEaReR   krn_x"] {
            assert_eq!(bearer_credentials(value).map(str::trim), Some("krn_x"), "{value}");
        }
        assert_eq!(bearer_credentials("Basic krn_x"), None);
        assert_eq!(bearer_credentials("Bearerkrn_x"), None);
    }
}
