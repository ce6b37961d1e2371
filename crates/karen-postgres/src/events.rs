//! The change-event log on PostgreSQL (docs/decisions.md K53): numbered at commit by the
//! deferred triggers of migration 12, read here in position order.

use chrono::{DateTime, Utc};
use karen_core::events::{Event, EventQuery};
use karen_core::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::errors::map_err;
use crate::rows::Placeholder;

fn event(row: &PgRow) -> StoreResult<Event> {
    let ty: String = row.try_get(2).map_err(map_err)?;
    Ok(Event {
        position: row.try_get(0).map_err(map_err)?,
        id: row.try_get(1).map_err(map_err)?,
        event_type: ty
            .parse()
            .map_err(|_| StoreError::invalid("type", "stored value of karen_events is not an event type"))?,
        entity_id: row.try_get(3).map_err(map_err)?,
        customer_id: row.try_get::<Option<Uuid>, _>(4).map_err(map_err)?,
        occurred_at: row.try_get(5).map_err(map_err)?,
    })
}

/// The events `query` asks for.
pub(crate) async fn events(pool: &PgPool, query: &EventQuery) -> StoreResult<Vec<Event>> {
    let text = karen_sql::events_sql(Placeholder::Dollar, query);
    let mut q = sqlx::query(&text).bind(query.after);
    if let Some(c) = query.customer_id {
        q = q.bind(c);
    }
    for t in &query.types {
        q = q.bind(t.as_str());
    }
    q.fetch_all(pool).await.map_err(map_err)?.iter().map(event).collect()
}

/// The newest event's position, 0 when the log is empty.
pub(crate) async fn last_position(pool: &PgPool) -> StoreResult<i64> {
    // Committed events only (the sequence may be ahead, for a transaction committing now).
    sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM karen_events").fetch_one(pool).await.map_err(map_err)
}

/// Deletes the events older than `before`.
pub(crate) async fn prune(pool: &PgPool, before: DateTime<Utc>) -> StoreResult<u64> {
    let text = karen_sql::prune_events_sql(Placeholder::Dollar);
    Ok(sqlx::query(&text).bind(before).execute(pool).await.map_err(map_err)?.rows_affected())
}
