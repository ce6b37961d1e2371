//! Handlers of the design's query patterns and lookups, beyond plain CRUD.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use karen_core::enums::{Direction, Medium, PreferenceMedium, PreferenceType};
use karen_core::model::{Conversation, Customer, CustomerPreference, PreferenceHistory, ServiceCategory};
use karen_core::preferences::learn::{LearnResult, Observation};
use karen_core::preferences::plan::{ContactPlan, Urgency};
use karen_core::preferences::resolve::EffectivePreference;
use karen_core::query::{ConversationFilter, ConversationHit, MediumStats, PackageDetail, Page, ServiceHit};
use karen_core::{Store, StoreError};
use serde_json::json;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PathId, QueryPairs};

fn parse_enum<T: std::str::FromStr<Err = karen_core::StoreError>>(field: &str, raw: &str) -> ApiResult<T> {
    raw.parse::<T>().map_err(|e| match e {
        karen_core::StoreError::Invalid { rule, .. } => ApiError::invalid(field, rule),
        other => other.into(),
    })
}

/// GET /v1/customers/by-email?email=
#[tracing::instrument(level = "debug", skip_all)]
pub async fn customer_by_email<S: Store>(State(app): AppState<S>, q: QueryPairs) -> ApiResult<Json<Customer>> {
    q.only(&["email"])?;
    Ok(Json(app.karen.customer_by_email(q.required("email")?).await?))
}

/// GET /v1/customers/by-phone?phone=
#[tracing::instrument(level = "debug", skip_all)]
pub async fn customers_by_phone<S: Store>(State(app): AppState<S>, q: QueryPairs) -> ApiResult<Json<Vec<Customer>>> {
    q.only(&["phone"])?;
    Ok(Json(app.karen.customers_by_phone(q.required("phone")?).await?))
}

/// GET /v1/customers/by-external-id?external_id=
#[tracing::instrument(level = "debug", skip_all)]
pub async fn customer_by_external_id<S: Store>(State(app): AppState<S>, q: QueryPairs) -> ApiResult<Json<Customer>> {
    q.only(&["external_id"])?;
    Ok(Json(app.karen.customer_by_external_id(q.required("external_id")?).await?))
}

/// GET /v1/customers/{id}/preferences?type= (pattern 1)
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn customer_preferences<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<Vec<CustomerPreference>>> {
    q.only(&["type"])?;
    let ty = q.one("type")?.map(|t| parse_enum::<PreferenceType>("type", t)).transpose()?;
    Ok(Json(app.karen.customer_preferences(id, ty).await?))
}

/// PUT /v1/customers/{id}/preferences: insert or replace the value of (type, key, medium).
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn upsert_preference<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    JsonBody(mut pref): JsonBody<CustomerPreference>,
) -> ApiResult<Json<CustomerPreference>> {
    if !pref.customer_id.is_nil() && pref.customer_id != id {
        return Err(ApiError::invalid("customer_id", "must be absent or equal to the customer in the path"));
    }
    pref.customer_id = id;
    Ok(Json(app.karen.upsert_preference(pref).await?))
}

/// GET /v1/customers/{id}/conversations?medium=&cursor=&limit= (pattern 2)
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn customer_history<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<Page<Conversation>>> {
    q.only(&["medium", "cursor", "limit"])?;
    let medium = q.one("medium")?.map(|m| parse_enum::<Medium>("medium", m)).transpose()?;
    let page = q.page()?;
    Ok(Json(app.karen.history(id, medium, &page).await?))
}

/// GET /v1/customers/{id}/analytics?days= (pattern 4)
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn customer_analytics<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<Vec<MediumStats>>> {
    q.only(&["days"])?;
    let days = match q.one("days")? {
        None => 30,
        Some(d) => d.parse::<u32>().map_err(|_| ApiError::invalid("days", "must be a whole number from 1 to 3660"))?,
    };
    Ok(Json(app.karen.analytics(id, days).await?))
}

/// POST /v1/conversations/ingest: 201 for a new message, 200 with the stored one for a redelivery.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ingest<S: Store>(
    State(app): AppState<S>,
    JsonBody(message): JsonBody<Conversation>,
) -> ApiResult<(StatusCode, Json<Conversation>)> {
    let (stored, created) = app.karen.record_message(message).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(stored)))
}

/// GET /v1/conversations/by-external-id?medium=&external_id=
#[tracing::instrument(level = "debug", skip_all)]
pub async fn conversation_by_external_id<S: Store>(
    State(app): AppState<S>,
    q: QueryPairs,
) -> ApiResult<Json<Conversation>> {
    q.only(&["medium", "external_id"])?;
    let medium = parse_enum::<Medium>("medium", q.required("medium")?)?;
    Ok(Json(app.karen.conversation_by_external_id(medium, q.required("external_id")?).await?))
}

/// GET /v1/threads/{thread_id}/conversations
#[tracing::instrument(level = "debug", skip_all)]
pub async fn thread<S: Store>(
    State(app): AppState<S>,
    Path(thread_id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Vec<Conversation>>> {
    q.only(&[])?;
    if thread_id.chars().count() > 255 || thread_id.contains('\0') {
        return Err(ApiError::invalid("thread_id", "must be at most 255 characters, without NUL"));
    }
    Ok(Json(app.karen.thread(&thread_id).await?))
}

/// GET /v1/categories/roots
#[tracing::instrument(level = "debug", skip_all)]
pub async fn category_roots<S: Store>(State(app): AppState<S>, q: QueryPairs) -> ApiResult<Json<Vec<ServiceCategory>>> {
    q.only(&[])?;
    Ok(Json(app.karen.category_children(None).await?))
}

/// GET /v1/categories/{id}/children
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn category_children<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<Vec<ServiceCategory>>> {
    q.only(&[])?;
    Ok(Json(app.karen.category_children(Some(id)).await?))
}

/// GET /v1/categories/{id}/ancestors
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn category_ancestors<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<Vec<ServiceCategory>>> {
    q.only(&[])?;
    Ok(Json(app.karen.category_ancestors(id).await?))
}

/// GET /v1/services/search?q=&cursor=&limit= (pattern 3)
#[tracing::instrument(level = "debug", skip_all)]
pub async fn search_services<S: Store>(State(app): AppState<S>, q: QueryPairs) -> ApiResult<Json<Page<ServiceHit>>> {
    q.only(&["q", "cursor", "limit"])?;
    let text = q.required("q")?;
    let page = q.page()?;
    Ok(Json(app.karen.search_services(&[text], &page).await?))
}

/// GET /v1/conversations/search?q=&customer_id=&medium=&direction=&from=&to=&limit=&cursor=
/// (decisions.md item 26)
#[tracing::instrument(level = "debug", skip_all)]
pub async fn search_conversations<S: Store>(
    State(app): AppState<S>,
    q: QueryPairs,
) -> ApiResult<Json<Page<ConversationHit>>> {
    q.only(&["q", "customer_id", "medium", "direction", "from", "to", "cursor", "limit"])?;
    let text = q.required("q")?;
    let filter = ConversationFilter {
        customer_id: q.uuid("customer_id")?,
        medium: q.one("medium")?.map(|m| parse_enum::<Medium>("medium", m)).transpose()?,
        direction: q.one("direction")?.map(|d| parse_enum::<Direction>("direction", d)).transpose()?,
        from: q.time("from")?,
        to: q.time("to")?,
    };
    let page = q.page()?;
    Ok(Json(app.karen.search_conversations(text, &filter, &page).await?))
}

/// GET /v1/packages/{id}/detail
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn package_detail<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<PackageDetail>> {
    q.only(&[])?;
    Ok(Json(app.karen.package_detail(id).await?))
}

/// GET /v1/customers/{id}/effective-preferences?medium=
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn effective_preferences<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<Vec<EffectivePreference>>> {
    q.only(&["medium"])?;
    let medium = q.one("medium")?.map(|m| parse_enum::<PreferenceMedium>("medium", m)).transpose()?;
    Ok(Json(app.karen.effective_preferences(id, medium).await?))
}

/// GET /v1/customers/{id}/preference-history?type=&key=
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn preference_history<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<Vec<PreferenceHistory>>> {
    q.only(&["type", "key"])?;
    let ty = q.one("type")?.map(|t| parse_enum::<PreferenceType>("type", t)).transpose()?;
    Ok(Json(app.karen.preference_history(id, ty, q.one("key")?).await?))
}

/// POST /v1/customers/{id}/observations
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn observe<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    JsonBody(mut obs): JsonBody<Observation>,
) -> ApiResult<Json<LearnResult>> {
    if !obs.customer_id.is_nil() && obs.customer_id != id {
        return Err(ApiError::invalid("customer_id", "must be absent or equal to the customer in the path"));
    }
    obs.customer_id = id;
    // The customer in the path names no row: the store's reference check says so in the same
    // transaction as the write.
    match app.karen.observe(obs).await {
        Err(StoreError::Reference { field, .. }) if field == "customer_id" => {
            Err(StoreError::not_found("customer", id).into())
        }
        other => Ok(Json(other?)),
    }
}

/// GET /v1/customers/{id}/contact-plan?at=&urgency=
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn contact_plan<S: Store>(
    State(app): AppState<S>,
    PathId(id): PathId,
    q: QueryPairs,
) -> ApiResult<Json<ContactPlan>> {
    q.only(&["at", "urgency"])?;
    let at = q.time("at")?;
    let urgency = match q.one("urgency")? {
        None | Some("normal") => Urgency::Normal,
        Some("urgent") => Urgency::Urgent,
        Some(_) => return Err(ApiError::invalid("urgency", "must be normal or urgent")),
    };
    Ok(Json(app.karen.contact_plan(id, at, urgency).await?))
}

/// DELETE /v1/tokens/{id}: revokes (the row stays, so the revocation is on record).
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub async fn revoke_token<S: Store>(State(app): AppState<S>, PathId(id): PathId) -> ApiResult<StatusCode> {
    app.karen.revoke_token(id).await?;
    app.tokens.clear();
    Ok(StatusCode::NO_CONTENT)
}

/// GET /healthz: the process answers.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// GET /readyz: the database answers.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn readyz<S: Store>(State(app): AppState<S>) -> (StatusCode, Json<serde_json::Value>) {
    match app.karen.store().ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready", "backend": app.karen.store().backend()}))),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "backend": app.karen.store().backend()})),
            )
        }
    }
}
