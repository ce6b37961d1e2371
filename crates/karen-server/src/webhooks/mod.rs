//! Webhooks (decisions.md item 27, docs/decisions.md K54): the admin routes that manage
//! subscriptions and list their deliveries, the address policy of their URLs, Standard
//! Webhooks signatures and the delivery worker of `serve`.

pub mod deliver;
pub mod policy;
pub mod sign;

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use karen_core::enums::{DeliveryOutcome, EventType};
use karen_core::karen::NewWebhook;
use karen_core::model::{Webhook, WebhookDelivery};
use karen_core::query::Page;
use karen_core::Store;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PathId, QueryPairs};

pub use deliver::{deliver_forever, parse_schedule, WebhookConfig, DEFAULT_SCHEDULE};

/// The body of POST /v1/webhooks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where events are POSTed (http or https).
    pub url: String,
    /// The event types delivered; none or empty: every type.
    #[serde(default)]
    pub types: Vec<EventType>,
    /// What the subscription is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// Refuses a URL the address policy does not let karen deliver to, naming `url`.
async fn check_reachable<S: Store>(app: &crate::app::App<S>, url: &str) -> ApiResult<()> {
    karen_core::model::webhook::check_webhook_url(url)?;
    match policy::refused(url, app.allow_private_webhooks).await {
        Some(rule) => Err(ApiError::invalid("url", rule)),
        None => Ok(()),
    }
}

/// POST /v1/webhooks: a new subscription, answered with its secret (shown this once).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create<S: Store>(
    State(app): AppState<S>,
    JsonBody(req): JsonBody<WebhookRequest>,
) -> ApiResult<impl IntoResponse> {
    check_reachable(&app, &req.url).await?;
    let hook =
        app.karen.create_webhook(NewWebhook { url: req.url, types: req.types, description: req.description }).await?;
    let location = format!("/v1/webhooks/{}", hook.id);
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(hook)))
}

/// PATCH /v1/webhooks/{id}: url, types, description, status. Setting `status` to `active`
/// re-enables a subscription karen disabled; delivery resumes where it stopped.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn update<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> ApiResult<Json<serde_json::Value>> {
    let serde_json::Value::Object(mut patch) = patch else {
        return Err(ApiError::invalid("body", "must be a JSON object naming the fields to change"));
    };
    if let Some((field, _)) =
        patch.iter().find(|(k, _)| !["url", "types", "description", "status"].contains(&k.as_str()))
    {
        return Err(ApiError::invalid(
            field.clone(),
            "is not a field a subscription's owner changes; use url, types, description or status",
        ));
    }
    if let Some(url) = patch.get("url") {
        let url = url.as_str().ok_or_else(|| ApiError::invalid("url", "must be a string"))?;
        check_reachable(&app, url).await?;
    }
    if patch.get("status").and_then(|s| s.as_str()) == Some("active") {
        patch.insert("disabled_reason".into(), serde_json::Value::Null);
    }
    let hook = app.karen.update::<Webhook>(id, &patch).await?;
    Ok(Json(crate::crud::shown(&hook)))
}

/// GET /v1/webhooks/{id}/deliveries?outcome=&cursor=&limit=: every attempt, oldest first.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn deliveries<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<Page<WebhookDelivery>>> {
    q.only(&["outcome", "cursor", "limit"])?;
    let outcome = q
        .one("outcome")?
        .map(|o| {
            o.parse::<DeliveryOutcome>()
                .map_err(|_| ApiError::invalid("outcome", format!("must be one of: {}", DeliveryOutcome::allowed())))
        })
        .transpose()?;
    Ok(Json(app.karen.webhook_deliveries(id, outcome, &q.page()?).await?))
}
