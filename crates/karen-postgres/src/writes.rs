//! Write helpers shared by the store and the preference transaction: updates of only the
//! changed columns.

use karen_core::{Entity, FieldType, StoreResult};

use crate::errors::map_err;
use crate::rows::{bind, entity, Placeholder};

/// The storage type of field `name` of `E` (for binding a null of the right type).
pub(crate) fn field_type<E: Entity>(name: &str) -> FieldType {
    E::FIELDS.iter().find(|f| f.name == name).map_or(FieldType::Text, |f| f.ty)
}

/// Writes the fields of `after` that differ from `before` and returns the stored row (the
/// `updated_at` trigger may change it); `before` when nothing differs.
pub(crate) async fn update_changed<E: Entity>(conn: &mut sqlx::PgConnection, before: E, after: &E) -> StoreResult<E> {
    let changed = karen_sql::changed_fields(&before, after);
    if changed.is_empty() {
        return Ok(before);
    }
    let text = karen_sql::update_fields_sql::<E>(Placeholder::Dollar, &changed, true);
    let mut q = sqlx::query(&text).bind(after.id());
    for (name, value) in changed {
        q = bind(q, value, field_type::<E>(name));
    }
    entity(&q.fetch_one(&mut *conn).await.map_err(map_err)?)
}
