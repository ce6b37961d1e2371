//! The customer-lifecycle routes (issue 19): consent (decisions.md item 24) and a customer's
//! own data, with their OpenAPI shapes.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use karen_core::consent::{ConsentChange, ConsentState};
use karen_core::customer_data::{CustomerData, ErasureReport};
use karen_core::duplicates::DuplicatePair;
use karen_core::enums::{ConsentCause, ConsentChannel, ConsentStatus};
use karen_core::merge::{MergeReport, MergeRequest};
use karen_core::model::ConsentRecord;
use karen_core::query::Page;
use karen_core::Store;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{JsonBody, PathId, QueryPairs};

/// GET /v1/customers/{id}/consent
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn current<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<ConsentState>> {
    q.only(&[])?;
    Ok(Json(app.karen.consent(id).await?))
}

/// POST /v1/customers/{id}/consent: a new ledger row.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn change<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    JsonBody(change): JsonBody<ConsentChange>,
) -> ApiResult<(StatusCode, Json<ConsentRecord>)> {
    Ok((StatusCode::CREATED, Json(app.karen.change_consent(id, change).await?)))
}

/// GET /v1/customers/{id}/export: everything held about the customer.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn export<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<CustomerData>> {
    q.only(&[])?;
    Ok(Json(app.karen.customer_data(id).await?))
}

/// DELETE /v1/customers/{id}: erasure, with its report.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn erase<S: Store>(State(app): AppState<S>, PathId(id): PathId) -> ApiResult<Json<ErasureReport>> {
    Ok(Json(app.karen.erase_customer(id).await?))
}

/// POST /v1/customers/{id}/merge: merges `duplicate_id` into this customer.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn merge<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    JsonBody(request): JsonBody<MergeRequest>,
) -> ApiResult<Json<MergeReport>> {
    let report = app.karen.merge_customers(id, &request).await?;
    tracing::info!(customer = %id, duplicate = %request.duplicate_id, dry_run = request.dry_run, "customers merged");
    Ok(Json(report))
}

/// GET /v1/customers/duplicates?limit=&cursor=
#[tracing::instrument(level = "debug", skip_all)]
pub async fn duplicates<S: Store>(State(app): AppState<S>, q: QueryPairs) -> ApiResult<Json<Page<DuplicatePair>>> {
    q.only(&["cursor", "limit"])?;
    Ok(Json(app.karen.duplicate_candidates(&q.page()?).await?))
}

/// The schemas of the lifecycle routes.
pub fn schemas(schemas: &mut BTreeMap<String, Value>) {
    let nullable = |v: Value| json!({"anyOf": [v, {"type": "null"}]});
    schemas.insert("ConsentChange".into(), json!({
        "type": "object", "additionalProperties": false, "required": ["channel", "status"],
        "properties": {
            "channel": ConsentChannel::schema_json(), "status": ConsentStatus::schema_json(),
            "cause": nullable(json!({"type": "string", "enum": [ConsentCause::Request.as_str(), ConsentCause::Unsubscribe.as_str()]})),
            "conversation_id": nullable(json!({"type": "string", "format": "uuid"})),
            "note": nullable(json!({"type": "string", "maxLength": 500})),
            "recorded_by": nullable(json!({"type": "string", "minLength": 1, "maxLength": 50}))
        }
    }));
    let r = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let list = |v: Value| json!({"type": "array", "items": v});
    schemas.insert("CustomerData".into(), json!({
        "type": "object",
        "required": ["exported_at", "customer", "preferences", "preference_history", "consent", "conversations", "attachments"],
        "properties": {
            "exported_at": {"type": "string", "format": "date-time"}, "customer": r("Customer"),
            "preferences": list(r("CustomerPreference")), "preference_history": list(r("PreferenceHistory")),
            "consent": list(r("ConsentRecord")), "conversations": list(r("Conversation")),
            "attachments": list(json!({"type": "object", "required": ["attachment", "link"],
                "properties": {"attachment": r("ConversationAttachment"), "link": {"type": "string"}}}))
        }
    }));
    schemas.insert(
        "ErasureReport".into(),
        json!({
            "type": "object", "required": ["customer_id", "rows", "blobs_removed"],
            "properties": {
                "customer_id": {"type": "string", "format": "uuid"},
                "rows": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0},
                    "description": "Rows removed per table."},
                "blobs_removed": {"type": "integer", "minimum": 0}
            }
        }),
    );
    schemas.insert(
        "MergeRequest".into(),
        json!({
            "type": "object", "additionalProperties": false, "required": ["duplicate_id"],
            "properties": {
                "duplicate_id": {"type": "string", "format": "uuid", "description": "The customer merged into this one and removed."},
                "dry_run": {"type": "boolean", "default": false, "description": "Report what the merge would do without writing."}
            }
        }),
    );
    let history = r("PreferenceHistory");
    schemas.insert(
        "MergeReport".into(),
        json!({
            "type": "object",
            "required": ["customer", "duplicate_id", "dry_run", "filled_fields", "tags_added", "moved", "preferences", "consent_added"],
            "properties": {
                "customer": r("Customer"),
                "duplicate_id": {"type": "string", "format": "uuid"},
                "dry_run": {"type": "boolean"},
                "filled_fields": list(json!({"type": "string"})),
                "tags_added": list(json!({"type": "string"})),
                "moved": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0},
                    "description": "Rows moved to the customer, per table."},
                "preferences": list(json!({
                    "type": "object",
                    "required": ["preference_type", "preference_key", "medium", "outcome", "kept_id", "duplicate_row_id", "dropped", "why"],
                    "properties": {
                        "preference_type": {"type": "string"}, "preference_key": {"type": "string"},
                        "medium": {"type": "string"},
                        "outcome": {"type": "string", "enum": ["moved", "kept_customer", "kept_duplicate"]},
                        "kept_id": {"type": "string", "format": "uuid"},
                        "duplicate_row_id": {"type": "string", "format": "uuid"},
                        "dropped": {"anyOf": [history, {"type": "null"}]},
                        "why": {"type": "string"}
                    }
                })),
                "consent_added": list(r("ConsentRecord"))
            }
        }),
    );
    schemas.insert(
        "DuplicatePair".into(),
        json!({
            "type": "object", "required": ["a", "b", "reasons"],
            "properties": {"a": r("Customer"), "b": r("Customer"), "reasons": list(json!({"type": "string"}))}
        }),
    );
    schemas.insert(
        "ConsentState".into(),
        json!({
            "type": "object", "required": ["customer_id", "channels"],
            "properties": {
                "customer_id": {"type": "string", "format": "uuid"},
                "channels": {"type": "array", "items": {
                    "type": "object", "required": ["channel", "status", "record"],
                    "properties": {
                        "channel": ConsentChannel::schema_json(), "status": ConsentStatus::schema_json(),
                        "record": nullable(json!({"$ref": "#/components/schemas/ConsentRecord"}))
                    }
                }}
            }
        }),
    );
}
