//! The routes agents call before they answer: quotes (decisions.md item 23) and reply context
//! (item 28), with the OpenAPI shapes of what they take and answer.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use karen_core::context::{ContextRequest, ReplyContext, DEFAULT_HISTORY, MAX_HISTORY};
use karen_core::enums::Medium;
use karen_core::quote::{Quote, QuoteRequest};
use karen_core::rules::schema_of;
use karen_core::Store;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PathId, QueryPairs};

/// POST /v1/quotes
#[tracing::instrument(level = "debug", skip_all)]
pub async fn quote<S: Store>(State(app): AppState<S>, JsonBody(req): JsonBody<QuoteRequest>) -> ApiResult<Json<Quote>> {
    Ok(Json(app.karen.quote(&req).await?))
}

/// The `history` query parameter: how many of the newest messages, 1 to 50 (default 10).
fn history(q: &QueryPairs) -> ApiResult<u32> {
    match q.one("history")? {
        None => Ok(DEFAULT_HISTORY),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_HISTORY).contains(n))
            .ok_or_else(|| ApiError::invalid("history", format!("must be an integer from 1 to {MAX_HISTORY}"))),
    }
}

/// GET /v1/customers/{id}/context?conversation_id=&history=
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn customer_context<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<ReplyContext>> {
    q.only(&["conversation_id", "history"])?;
    let conversation_id = q
        .one("conversation_id")?
        .map(|raw| Uuid::try_parse(raw).map_err(|_| ApiError::invalid("conversation_id", "must be a UUID")))
        .transpose()?;
    let history = history(&q)?;
    Ok(Json(app.karen.reply_context(ContextRequest { customer_id: id, conversation_id, history }).await?))
}

/// GET /v1/context/by-message?medium=&external_id=&history=
#[tracing::instrument(level = "debug", skip_all)]
pub async fn context_by_message<S: Store>(State(app): AppState<S>, q: QueryPairs) -> ApiResult<Json<ReplyContext>> {
    q.only(&["medium", "external_id", "history"])?;
    let medium: Medium = q.required("medium")?.parse().map_err(|e: karen_core::StoreError| match e {
        karen_core::StoreError::Invalid { rule, .. } => ApiError::invalid("medium", rule),
        other => other.into(),
    })?;
    let external_id = q.required("external_id")?;
    let history = history(&q)?;
    Ok(Json(app.karen.reply_context_by_message(medium, external_id, history).await?))
}

/// The query parameters of the context routes beyond the message.
pub fn history_param() -> crate::spec::Param {
    crate::spec::param(
        "history",
        false,
        "How many of the newest messages to include, 1 to 50 (default 10).",
        json!({"type": "integer", "minimum": 1, "maximum": MAX_HISTORY}),
    )
}

/// The schemas of quotes and reply context.
pub fn schemas(schemas: &mut BTreeMap<String, Value>) {
    let r = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let nullable = |v: Value| json!({"anyOf": [v, {"type": "null"}]});
    let uuid = json!({"type": "string", "format": "uuid"});
    let decimal = json!({"type": "string", "format": "decimal", "description": "An exact decimal."});
    let decimal_in = json!({"type": ["string", "number"], "format": "decimal"});
    let list = |v: Value| json!({"type": "array", "items": v});
    let none = json!({"type": "null"});
    schemas.insert("QuoteRequest".into(), json!({
        "type": "object", "additionalProperties": false,
        "description": "A service with an optional quantity, hours or tier, or a package: one of service_id and package_id.",
        "properties": {
            "service_id": nullable(uuid.clone()),
            "quantity": nullable(schema_of(json!({"type": "integer"}), karen_core::quote::QUANTITY)),
            "hours": nullable(schema_of(decimal_in, karen_core::quote::HOURS)),
            "tier_id": nullable(uuid.clone()),
            "package_id": nullable(uuid.clone())
        },
        "oneOf": [
            {"required": ["service_id"], "properties": {"service_id": uuid.clone(), "package_id": none.clone()}},
            {"required": ["package_id"], "properties": {"package_id": uuid.clone(), "service_id": none.clone(),
                "quantity": none.clone(), "hours": none.clone(), "tier_id": none}}
        ]
    }));
    schemas.insert("QuoteStep".into(), json!({
        "type": "object", "required": ["rule", "detail", "amount"],
        "properties": {
            "rule": {"type": "string", "enum": ["base_price", "tier_price", "hourly_rate", "estimate_range", "minimum_charge",
                "maximum_charge", "rounding", "package_price", "package_savings"]},
            "detail": {"type": "string"}, "amount": nullable(decimal.clone())
        }
    }));
    schemas.insert("PackageQuoteItem".into(), json!({
        "type": "object", "required": ["service_id", "service_name", "quantity", "is_optional", "price", "binding", "error"],
        "properties": {
            "service_id": uuid, "service_name": {"type": "string"}, "quantity": {"type": "integer"},
            "is_optional": {"type": "boolean"}, "price": nullable(decimal.clone()), "binding": {"type": "boolean"},
            "error": nullable(json!({"type": "string"}))
        }
    }));
    schemas.insert("Quote".into(), json!({
        "type": "object",
        "required": ["service_id", "package_id", "name", "pricing_model", "quantity", "hours", "total", "currency", "binding",
            "range", "tier", "steps", "package"],
        "properties": {
            "service_id": nullable(uuid.clone()), "package_id": nullable(uuid.clone()), "name": {"type": "string"},
            "pricing_model": nullable(karen_core::enums::PricingModel::schema_json()),
            "quantity": {"type": "integer"}, "hours": nullable(decimal.clone()), "total": decimal.clone(),
            "currency": {"type": "string"}, "binding": {"type": "boolean"},
            "range": nullable(json!({"type": "object", "required": ["low", "high"],
                "properties": {"low": nullable(decimal.clone()), "high": nullable(decimal.clone())}})),
            "tier": nullable(r("ServicePricingTier")),
            "steps": list(r("QuoteStep")),
            "package": nullable(json!({
                "type": "object",
                "required": ["items", "services_sum", "savings", "stored_savings_amount", "savings_differs"],
                "properties": {
                    "items": list(r("PackageQuoteItem")), "services_sum": nullable(decimal.clone()),
                    "savings": nullable(decimal.clone()), "stored_savings_amount": decimal,
                    "savings_differs": {"type": "boolean"}
                }
            }))
        }
    }));
    schemas.insert(
        "MatchedService".into(),
        json!({
            "type": "object", "required": ["service", "matched_terms", "quote", "quote_error"],
            "properties": {
                "service": r("ServiceHit"), "matched_terms": list(json!({"type": "string"})),
                "quote": nullable(r("Quote")), "quote_error": nullable(json!({"type": "string"}))
            }
        }),
    );
    let medium = Medium::schema_json();
    schemas.insert(
        "ReplyContext".into(),
        json!({
            "type": "object",
            "required": ["customer", "message", "preferences", "consent", "contact_plan", "thread", "history",
                "latest_by_medium", "analytics", "services"],
            "properties": {
                "customer": r("Customer"), "message": nullable(r("Conversation")),
                "preferences": list(r("EffectivePreference")),
                "consent": list(json!({"type": "object", "required": ["channel", "allowed", "reason"],
                    "properties": {"channel": medium, "allowed": {"type": "boolean"}, "reason": {"type": "string"}}})),
                "contact_plan": r("ContactPlan"),
                "thread": list(r("Conversation")), "history": list(r("Conversation")),
                "latest_by_medium": list(r("Conversation")), "analytics": list(r("MediumStats")),
                "services": list(r("MatchedService"))
            }
        }),
    );
}
