//! Write helpers shared by the store and the preference transaction: updates of only the
//! changed columns, and naming the reference behind a foreign-key failure (SQLite does not).

use karen_core::{Entity, EntityKind, OnDelete, StoreError, StoreResult, Value};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::errors::map_err;
use crate::rows::{self, bind, Placeholder};

/// SQLite does not say which foreign key failed: find the reference of `entity` whose target
/// is missing, so the error names the field as PostgreSQL's does.
pub(crate) async fn missing_reference<E: Entity>(conn: &mut SqliteConnection, err: StoreError, e: &E) -> StoreError {
    if !matches!(&err, StoreError::Reference { field, .. } if field == "reference") {
        return err;
    }
    let record = e.to_record();
    for r in E::KIND.references() {
        let Some((_, Value::Uuid(target))) = record.values.iter().find(|(n, _)| *n == r.field) else { continue };
        let exists = sqlx::query(&format!("SELECT 1 FROM {} WHERE id = ?1", r.to.table()))
            .bind(rows::uuid(*target))
            .fetch_optional(&mut *conn)
            .await;
        if matches!(exists, Ok(None)) {
            return StoreError::missing_reference(r.field);
        }
    }
    err
}

/// The restricting reference that still points at a row being deleted.
pub(crate) async fn restricting_reference(
    conn: &mut SqliteConnection,
    err: StoreError,
    kind: EntityKind,
    id: Uuid,
) -> StoreError {
    if !matches!(&err, StoreError::Reference { field, .. } if field == "reference") {
        return err;
    }
    for r in kind.referrers().filter(|r| r.on_delete == OnDelete::Restrict) {
        let found = sqlx::query(&format!("SELECT 1 FROM {} WHERE {} = ?1 LIMIT 1", r.from.table(), r.field))
            .bind(rows::uuid(id))
            .fetch_optional(&mut *conn)
            .await;
        if matches!(found, Ok(Some(_))) {
            return StoreError::InUse {
                field: r.field.to_string(),
                rule: format!(
                    "the row is still referenced by {}.{}; delete or move those first",
                    r.from.table(),
                    r.field
                ),
            };
        }
    }
    err
}

/// Writes the fields of `after` that differ from `before` (nothing when none do).
pub(crate) async fn update_changed<E: Entity>(conn: &mut SqliteConnection, before: &E, after: &E) -> StoreResult<()> {
    let changed = karen_sql::changed_fields(before, after);
    if changed.is_empty() {
        return Ok(());
    }
    let text = karen_sql::update_fields_sql::<E>(Placeholder::Question, &changed, false);
    let mut q = sqlx::query(&text).bind(rows::uuid(after.id()));
    for (_, value) in changed {
        q = bind(q, value);
    }
    q.execute(&mut *conn).await.map_err(map_err)?;
    Ok(())
}
