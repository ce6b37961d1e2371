//! Conversion between karen's neutral [`Value`]s and PostgreSQL parameters and columns, and the
//! generated SQL of the generic operations (built once per entity).

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use karen_core::{Entity, EntityKind, FieldType, Record, StoreError, StoreResult, Value};
pub use karen_sql::{entity_sql, prefixed, EntitySql, Placeholder};
use rust_decimal::Decimal;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row};
use uuid::Uuid;

use crate::errors::map_err;

/// A query with owned parameters.
pub type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

/// Binds `value` as a parameter of type `ty` (a null is bound with the column's type).
pub fn bind(q: PgQuery<'_>, value: Value, ty: FieldType) -> PgQuery<'_> {
    match (value, ty) {
        (Value::Null, FieldType::Uuid) => q.bind(None::<Uuid>),
        (Value::Null, FieldType::Text) => q.bind(None::<String>),
        (Value::Null, FieldType::Bool) => q.bind(None::<bool>),
        (Value::Null, FieldType::Int) => q.bind(None::<i32>),
        (Value::Null, FieldType::Decimal(_)) => q.bind(None::<Decimal>),
        (Value::Null, FieldType::Timestamp) => q.bind(None::<DateTime<Utc>>),
        (Value::Null, FieldType::Date) => q.bind(None::<NaiveDate>),
        (Value::Null, FieldType::Json) => q.bind(None::<serde_json::Value>),
        (Value::Null, FieldType::TextArray) => q.bind(None::<Vec<String>>),
        (Value::Uuid(v), _) => q.bind(v),
        (Value::Text(v), _) => q.bind(v),
        (Value::Bool(v), _) => q.bind(v),
        (Value::Int(v), _) => q.bind(v),
        (Value::Decimal(v), _) => q.bind(v),
        (Value::Timestamp(v), _) => q.bind(v),
        (Value::Date(v), _) => q.bind(v),
        (Value::Json(v), _) => q.bind(v),
        (Value::TextArray(v), _) => q.bind(v),
    }
}

/// Reads column `idx` of `row` as a value of type `ty`.
pub fn decode(row: &PgRow, idx: usize, ty: FieldType) -> Result<Value, sqlx::Error> {
    Ok(match ty {
        FieldType::Uuid => row.try_get::<Option<Uuid>, _>(idx)?.into(),
        FieldType::Text => row.try_get::<Option<String>, _>(idx)?.into(),
        FieldType::Bool => row.try_get::<Option<bool>, _>(idx)?.into(),
        FieldType::Int => row.try_get::<Option<i32>, _>(idx)?.into(),
        // PostgreSQL sends zero without its scale; every decimal is read back at the column's.
        FieldType::Decimal(scale) => row
            .try_get::<Option<Decimal>, _>(idx)?
            .map(|mut d| {
                d.rescale(scale);
                d
            })
            .into(),
        FieldType::Timestamp => row.try_get::<Option<DateTime<Utc>>, _>(idx)?.into(),
        FieldType::Date => row.try_get::<Option<NaiveDate>, _>(idx)?.into(),
        FieldType::Json => row.try_get::<Option<serde_json::Value>, _>(idx)?.into(),
        FieldType::TextArray => row.try_get::<Option<Vec<String>>, _>(idx)?.into(),
    })
}

/// Reads an entity from the columns of `row` starting at `offset`, in `E::FIELDS` order.
pub fn entity_at<E: Entity>(row: &PgRow, offset: usize) -> StoreResult<E> {
    let mut record = Record::with_capacity(E::FIELDS.len());
    for (i, f) in E::FIELDS.iter().enumerate() {
        record.values.push((f.name, decode(row, offset + i, f.ty).map_err(map_err)?));
    }
    E::from_record(record).map_err(|e| StoreError::corrupt(E::KIND.name(), e))
}

/// Reads an entity from a row holding exactly its columns.
pub fn entity<E: Entity>(row: &PgRow) -> StoreResult<E> {
    entity_at(row, 0)
}

/// Binds every field of `entity` in `FIELDS` order.
pub fn bind_entity<'q, E: Entity>(mut q: PgQuery<'q>, entity: &E) -> PgQuery<'q> {
    for ((_, value), f) in entity.to_record().values.into_iter().zip(E::FIELDS) {
        q = bind(q, value, f.ty);
    }
    q
}

/// The PostgreSQL-only statements of an entity, on top of the shared ones of `karen-sql`.
pub struct PgSql {
    /// `SELECT cols FROM t WHERE id = $1 FOR UPDATE`
    pub get_for_update: String,
    /// `INSERT .. RETURNING cols` prefix used by the upserts.
    pub insert: String,
}

/// The shared statements of `E` in PostgreSQL's placeholder style.
pub fn sql<E: Entity>() -> &'static EntitySql {
    entity_sql::<E>(Placeholder::Dollar)
}

/// The PostgreSQL-only statements of `E`, built on first use.
pub fn pg_sql<E: Entity>() -> &'static PgSql {
    static CACHE: [OnceLock<PgSql>; EntityKind::ALL.len()] = [const { OnceLock::new() }; EntityKind::ALL.len()];
    let slot = EntityKind::ALL.iter().position(|k| *k == E::KIND).expect("every kind is listed");
    CACHE[slot].get_or_init(|| {
        let s = sql::<E>();
        PgSql { get_for_update: format!("{} FOR UPDATE", s.get), insert: s.insert.clone() }
    })
}
