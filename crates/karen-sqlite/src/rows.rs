//! Conversion between karen's neutral [`Value`]s and SQLite parameters and columns. The storage
//! forms are described at the top of `migrations/0001_initial.sql`.

use chrono::{DateTime, NaiveDate, Utc};
use karen_core::{Entity, FieldType, Record, StoreError, StoreResult, Value};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite};
use uuid::Uuid;

use crate::errors::map_err;
pub use karen_sql::{entity_sql, prefixed, EntitySql, Placeholder};

/// A query with owned parameters.
pub type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

/// The shared statements of `E` in SQLite's placeholder style.
pub fn sql<E: Entity>() -> &'static EntitySql {
    entity_sql::<E>(Placeholder::Question)
}

/// A timestamp as stored: fixed-width RFC 3339 with microseconds, so text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A UUID as stored: lower-case hyphenated.
pub fn uuid(u: Uuid) -> String {
    u.hyphenated().to_string()
}

/// Binds `value` (its field type only matters for nulls, which SQLite does not type).
pub fn bind(q: SqliteQuery<'_>, value: Value) -> SqliteQuery<'_> {
    match value {
        Value::Null => q.bind(None::<String>),
        Value::Uuid(v) => q.bind(uuid(v)),
        Value::Text(v) => q.bind(v),
        Value::Bool(v) => q.bind(v),
        Value::Int(v) => q.bind(v),
        Value::Decimal(v) => q.bind(v.to_f64()),
        Value::Timestamp(v) => q.bind(ts(v)),
        Value::Date(v) => q.bind(v.format("%Y-%m-%d").to_string()),
        Value::Json(v) => q.bind(v.to_string()),
        Value::TextArray(v) => q.bind(serde_json::Value::from(v).to_string()),
    }
}

fn corrupt(field: &str, what: &str) -> StoreError {
    StoreError::invalid(field, format!("stored value is not {what}"))
}

/// Reads column `idx` of `row` as a value of type `ty`.
pub fn decode(row: &SqliteRow, idx: usize, field: &str, ty: FieldType) -> StoreResult<Value> {
    let text = |row: &SqliteRow| row.try_get::<Option<String>, _>(idx).map_err(map_err);
    Ok(match ty {
        FieldType::Uuid => match text(row)? {
            None => Value::Null,
            Some(s) => Value::Uuid(Uuid::try_parse(&s).map_err(|_| corrupt(field, "a UUID"))?),
        },
        FieldType::Text => text(row)?.into(),
        FieldType::Bool => row.try_get::<Option<bool>, _>(idx).map_err(map_err)?.into(),
        FieldType::Int => row.try_get::<Option<i32>, _>(idx).map_err(map_err)?.into(),
        FieldType::Decimal(scale) => match row.try_get::<Option<f64>, _>(idx).map_err(map_err)? {
            None => Value::Null,
            Some(f) => {
                // REAL holds DECIMAL(10,2) exactly enough: rounding to the column's scale
                // recovers the decimal that was written.
                let mut d = Decimal::from_f64(f).ok_or_else(|| corrupt(field, "a finite number"))?.round_dp(scale);
                d.rescale(scale);
                Value::Decimal(d)
            }
        },
        FieldType::Timestamp => match text(row)? {
            None => Value::Null,
            Some(s) => Value::Timestamp(
                DateTime::parse_from_rfc3339(&s)
                    .map_err(|_| corrupt(field, "an RFC 3339 timestamp"))?
                    .with_timezone(&Utc),
            ),
        },
        FieldType::Date => match text(row)? {
            None => Value::Null,
            Some(s) => Value::Date(s.parse::<NaiveDate>().map_err(|_| corrupt(field, "a date"))?),
        },
        FieldType::Json => match text(row)? {
            None => Value::Null,
            Some(s) => Value::Json(serde_json::from_str(&s).map_err(|_| corrupt(field, "JSON"))?),
        },
        FieldType::TextArray => match text(row)? {
            None => Value::Null,
            Some(s) => Value::TextArray(serde_json::from_str(&s).map_err(|_| corrupt(field, "a JSON array of text"))?),
        },
    })
}

/// Reads an entity from the columns of `row` starting at `offset`, in `E::FIELDS` order.
pub fn entity_at<E: Entity>(row: &SqliteRow, offset: usize) -> StoreResult<E> {
    let mut record = Record::with_capacity(E::FIELDS.len());
    for (i, f) in E::FIELDS.iter().enumerate() {
        record
            .values
            .push((f.name, decode(row, offset + i, f.name, f.ty).map_err(|e| StoreError::corrupt(E::KIND.name(), e))?));
    }
    E::from_record(record).map_err(|e| StoreError::corrupt(E::KIND.name(), e))
}

/// Reads an entity from a row holding exactly its columns.
pub fn entity<E: Entity>(row: &SqliteRow) -> StoreResult<E> {
    entity_at(row, 0)
}

/// Binds every field of `entity` in `FIELDS` order.
pub fn bind_entity<'q, E: Entity>(mut q: SqliteQuery<'q>, entity: &E) -> SqliteQuery<'q> {
    for (_, value) in entity.to_record().values {
        q = bind(q, value);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    /// REAL holds every DECIMAL(10,2) exactly enough: binary64 round-trips any decimal of at
    /// most 15 significant digits, and these have at most 10.
    #[test]
    fn decimals_survive_real_storage() {
        let mut checked = 0;
        let samples = ["0.00", "0.01", "0.10", "0.85", "1.00", "85.00", "99999999.99", "12345678.91", "33333333.33"];
        let mut values: Vec<Decimal> = samples.iter().map(|s| s.parse().unwrap()).collect();
        // And a sweep of cents across the range.
        let mut cents: i64 = 1;
        while cents < 9_999_999_999 {
            values.push(Decimal::new(cents, 2));
            cents = cents * 7 + 3;
        }
        for v in values {
            let stored = v.to_f64().unwrap();
            let mut back = Decimal::from_f64(stored).unwrap().round_dp(2);
            back.rescale(2);
            assert_eq!(back.to_string(), format!("{v:.2}"), "{v}");
            checked += 1;
        }
        assert!(checked > 15);
    }
}
