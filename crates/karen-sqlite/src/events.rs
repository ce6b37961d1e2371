//! The change-event log on SQLite (docs/decisions.md K53): written by the triggers of
//! migration 13, read here in position order.

use chrono::{DateTime, Utc};
use karen_core::events::{Event, EventQuery};
use karen_core::{StoreError, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use crate::errors::map_err;
use crate::rows::{self, Placeholder};

fn corrupt(field: &str) -> StoreError {
    StoreError::invalid(field, "stored value of karen_events is not what karen writes")
}

fn event(row: &SqliteRow) -> StoreResult<Event> {
    let text = |i: usize| row.try_get::<String, _>(i).map_err(map_err);
    let uuid = |i: usize, f: &str| Uuid::try_parse(&text(i)?).map_err(|_| corrupt(f));
    let customer: Option<String> = row.try_get(4).map_err(map_err)?;
    Ok(Event {
        position: row.try_get(0).map_err(map_err)?,
        id: uuid(1, "id")?,
        event_type: text(2)?.parse().map_err(|_| corrupt("type"))?,
        entity_id: uuid(3, "entity_id")?,
        customer_id: customer.map(|c| Uuid::try_parse(&c).map_err(|_| corrupt("customer_id"))).transpose()?,
        occurred_at: DateTime::parse_from_rfc3339(&text(5)?).map_err(|_| corrupt("occurred_at"))?.with_timezone(&Utc),
    })
}

/// The events `query` asks for, from a reader connection.
pub(crate) async fn events(readers: &SqlitePool, query: &EventQuery) -> StoreResult<Vec<Event>> {
    let text = karen_sql::events_sql(Placeholder::Question, query);
    let mut q = sqlx::query(&text).bind(query.after);
    if let Some(c) = query.customer_id {
        q = q.bind(rows::uuid(c));
    }
    for t in &query.types {
        q = q.bind(t.as_str());
    }
    q.fetch_all(readers).await.map_err(map_err)?.iter().map(event).collect()
}

/// The newest event's position, 0 when the log is empty.
pub(crate) async fn last_position<'c, E: sqlx::SqliteExecutor<'c>>(conn: E) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM karen_events").fetch_one(conn).await.map_err(map_err)
}

/// Karen's erasure deletes a customer's rows before the customer (to count them), so the
/// triggers saw their customer still there; the events of those rows, written in this
/// transaction after `before`, go again: the customer's `.deleted` covers them, as it does
/// when a delete of the customer cascades.
pub(crate) async fn drop_erased_rows_events(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    before: i64,
    customer: Uuid,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM karen_events WHERE position > ?1 AND customer_id = ?2 AND type <> 'customer.deleted'")
        .bind(before)
        .bind(rows::uuid(customer))
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// The statement that prunes events older than its parameter.
pub(crate) fn prune_sql() -> String {
    karen_sql::prune_events_sql(Placeholder::Question)
}

/// The parameter of [`prune_sql`].
pub(crate) fn prune_param(before: DateTime<Utc>) -> String {
    rows::ts(before)
}
