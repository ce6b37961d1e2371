//! The five generic routes of every entity: create, read, partial update, delete, and a listing
//! with equality filters and cursor pagination.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header::LOCATION, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use karen_core::query::Page;
use karen_core::{Entity, Store, Value};

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PathId, QueryPairs};

/// The JSON form of `entity` as the API shows it: without its secret fields
/// ([`Entity::SECRET_FIELDS`]).
pub fn shown<E: Entity>(entity: &E) -> serde_json::Value {
    let mut json = serde_json::to_value(entity).unwrap_or_default();
    if let Some(map) = json.as_object_mut() {
        for field in E::SECRET_FIELDS {
            map.remove(*field);
        }
    }
    json
}

/// A page as the API shows it.
fn shown_page<E: Entity>(page: Page<E>) -> serde_json::Value {
    serde_json::json!({
        "items": page.items.iter().map(shown).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })
}

/// POST: 201 with the stored entity and its Location.
#[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name()))]
pub async fn create<S: Store, E: Entity>(
    State(app): State<Arc<App<S>>>,
    JsonBody(entity): JsonBody<E>,
) -> ApiResult<impl IntoResponse> {
    let stored = app.karen.create(entity).await?;
    let location = format!("{}/{}", crate::spec::collection_path(E::KIND), stored.id());
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(shown(&stored))))
}

/// GET one.
#[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
pub async fn get<S: Store, E: Entity>(
    State(app): State<Arc<App<S>>>,
    PathId(id): PathId,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(shown(&app.karen.get::<E>(id).await?)))
}

/// PATCH: the body names the fields to change.
#[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
pub async fn update<S: Store, E: Entity>(
    State(app): State<Arc<App<S>>>,
    PathId(id): PathId,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> ApiResult<Json<serde_json::Value>> {
    let serde_json::Value::Object(patch) = patch else {
        return Err(ApiError::invalid("body", "must be a JSON object naming the fields to change"));
    };
    Ok(Json(shown(&app.karen.update::<E>(id, &patch).await?)))
}

/// DELETE: 204.
#[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
pub async fn delete<S: Store, E: Entity>(State(app): State<Arc<App<S>>>, PathId(id): PathId) -> ApiResult<StatusCode> {
    app.karen.delete::<E>(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET the collection: `?field=value` filters on the entity's filter fields, `cursor`, `limit`.
#[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name()))]
pub async fn list<S: Store, E: Entity>(
    State(app): State<Arc<App<S>>>,
    query: QueryPairs,
) -> ApiResult<Json<serde_json::Value>> {
    let page = query.page()?;
    let mut filters: Vec<(&str, Value)> = Vec::new();
    for (name, raw) in &query.0 {
        if name == "cursor" || name == "limit" {
            continue;
        }
        let Some(field) = E::FILTERS.iter().find(|f| *f == name) else {
            return Err(ApiError::bad_request(
                name.clone(),
                format!("unknown query parameter; filters: {}, cursor, limit", E::FILTERS.join(", ")),
            ));
        };
        let ty = E::FIELDS.iter().find(|f| f.name == *field).map(|f| f.ty).expect("filters are fields");
        filters.push((field, Value::parse_as(field, ty, raw)?));
    }
    Ok(Json(shown_page(app.karen.list::<E>(&filters, &page).await?)))
}
