//! [`App`]: what every handler shares (karen, the OpenAPI document, the token cache).

use std::sync::Arc;

use axum::extract::State;
use karen_core::Karen;

use crate::token_cache::TokenCache;

/// What every handler shares.
pub struct App<S> {
    /// karen over the chosen store.
    pub karen: Arc<Karen<S>>,
    /// The OpenAPI document of the mounted routes.
    pub openapi: Arc<serde_json::Value>,
    /// Tokens verified recently.
    pub tokens: TokenCache,
    /// How inbound e-mail and Twilio webhooks are read and recorded.
    pub inbound: crate::inbound::InboundConfig,
    /// Whether webhook subscriptions may name loopback and private addresses.
    pub allow_private_webhooks: bool,
}

/// The state extractor of every handler.
pub type AppState<S> = State<Arc<App<S>>>;
