//! Firestore's typed JSON values ↔ karen's [`Value`]s, and documents ↔ entities. Timestamps are
//! Firestore timestamps, null is null, arrays and maps are native, decimals are numbers read
//! back at the column's scale (decisions.md items 13 and 15), dates are `YYYY-MM-DD` strings as
//! in the design's documents.

use chrono::{DateTime, NaiveDate, Utc};
use karen_core::{Entity, EntityKind, FieldType, Record, StoreError, StoreResult, Value};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value as Json};

/// A timestamp as Firestore takes it.
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Encodes a plain JSON value as a Firestore value.
pub fn from_json(v: &Json) -> Json {
    match v {
        Json::Null => json!({"nullValue": null}),
        Json::Bool(b) => json!({"booleanValue": b}),
        Json::Number(n) => match n.as_i64() {
            Some(i) => json!({"integerValue": i.to_string()}),
            None => json!({"doubleValue": n.as_f64().unwrap_or(0.0)}),
        },
        Json::String(s) => json!({"stringValue": s}),
        Json::Array(a) => json!({"arrayValue": {"values": a.iter().map(from_json).collect::<Vec<_>>()}}),
        Json::Object(o) => {
            let fields: Map<String, Json> = o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect();
            json!({"mapValue": {"fields": fields}})
        }
    }
}

/// Decodes a Firestore value into plain JSON (timestamps and references become strings).
pub fn to_json(v: &Json) -> Json {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else { return Json::Null };
    match kind.as_str() {
        "booleanValue" => inner.clone(),
        "integerValue" => inner.as_str().and_then(|s| s.parse::<i64>().ok()).map_or(Json::Null, Json::from),
        "doubleValue" => inner.as_f64().and_then(serde_json::Number::from_f64).map_or(Json::Null, Json::Number),
        "stringValue" | "timestampValue" | "referenceValue" => inner.clone(),
        "arrayValue" => Json::Array(
            inner.get("values").and_then(|v| v.as_array()).map(|a| a.iter().map(to_json).collect()).unwrap_or_default(),
        ),
        "mapValue" => Json::Object(
            inner
                .get("fields")
                .and_then(|f| f.as_object())
                .map(|f| f.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
                .unwrap_or_default(),
        ),
        _ => Json::Null,
    }
}

/// Encodes a field value.
pub fn encode(v: &Value) -> Json {
    match v {
        Value::Null => json!({"nullValue": null}),
        Value::Uuid(u) => json!({"stringValue": u.to_string()}),
        Value::Text(s) => json!({"stringValue": s}),
        Value::Bool(b) => json!({"booleanValue": b}),
        Value::Int(i) => json!({"integerValue": i.to_string()}),
        Value::Decimal(d) => json!({"doubleValue": d.to_f64().unwrap_or(0.0)}),
        Value::Timestamp(t) => json!({"timestampValue": ts(*t)}),
        Value::Date(d) => json!({"stringValue": d.format("%Y-%m-%d").to_string()}),
        Value::Json(j) => from_json(j),
        Value::TextArray(a) => {
            json!({"arrayValue": {"values": a.iter().map(|s| json!({"stringValue": s})).collect::<Vec<_>>()}})
        }
    }
}

fn corrupt(field: &str, what: &str) -> StoreError {
    StoreError::invalid(field, format!("stored value is not {what}"))
}

/// Decodes a field value of type `ty`.
pub fn decode(field: &str, ty: FieldType, v: Option<&Json>) -> StoreResult<Value> {
    let Some(v) = v else { return Ok(Value::Null) };
    if v.get("nullValue").is_some() {
        return Ok(Value::Null);
    }
    let s = |key: &str| v.get(key).and_then(|x| x.as_str());
    Ok(match ty {
        FieldType::Uuid => Value::Uuid(
            s("stringValue").and_then(|x| uuid::Uuid::try_parse(x).ok()).ok_or_else(|| corrupt(field, "a UUID"))?,
        ),
        FieldType::Text => Value::Text(s("stringValue").ok_or_else(|| corrupt(field, "a string"))?.to_string()),
        FieldType::Bool => {
            Value::Bool(v.get("booleanValue").and_then(|b| b.as_bool()).ok_or_else(|| corrupt(field, "a boolean"))?)
        }
        FieldType::Int => Value::Int(
            s("integerValue").and_then(|x| x.parse::<i32>().ok()).ok_or_else(|| corrupt(field, "a 32-bit integer"))?,
        ),
        FieldType::Decimal(scale) => {
            let f = v
                .get("doubleValue")
                .and_then(|x| x.as_f64())
                .or_else(|| s("integerValue").and_then(|x| x.parse::<f64>().ok()))
                .ok_or_else(|| corrupt(field, "a number"))?;
            let mut d = Decimal::from_f64(f).ok_or_else(|| corrupt(field, "a finite number"))?.round_dp(scale);
            d.rescale(scale);
            Value::Decimal(d)
        }
        FieldType::Timestamp => Value::Timestamp(
            s("timestampValue")
                .and_then(|x| DateTime::parse_from_rfc3339(x).ok())
                .ok_or_else(|| corrupt(field, "a timestamp"))?
                .with_timezone(&Utc),
        ),
        FieldType::Date => Value::Date(
            s("stringValue").and_then(|x| x.parse::<NaiveDate>().ok()).ok_or_else(|| corrupt(field, "a date"))?,
        ),
        FieldType::Json => Value::Json(to_json(v)),
        FieldType::TextArray => Value::TextArray(
            v.get("arrayValue")
                .map(|a| {
                    a.get("values")
                        .and_then(|x| x.as_array())
                        .map(|vals| {
                            vals.iter()
                                .filter_map(|x| x.get("stringValue").and_then(|s| s.as_str()).map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .ok_or_else(|| corrupt(field, "an array"))?,
        ),
    })
}

/// The field of a message's document that holds its distinct search terms (the backend's
/// term index, docs/decisions.md K52); not an entity field, so reads ignore it.
pub const TERMS_FIELD: &str = "_search_terms";

/// The `fields` of a document for `entity`; a message's also carry its search terms, so every
/// write of a message keeps them in step.
pub fn fields<E: Entity>(entity: &E) -> Json {
    let mut m = Map::new();
    let record = entity.to_record();
    if E::KIND == EntityKind::Conversation {
        m.insert(TERMS_FIELD.to_string(), search_terms(&record));
    }
    for (name, value) in record.values {
        m.insert(name.to_string(), encode(&value));
    }
    Json::Object(m)
}

/// The Firestore array of a message record's search terms.
fn search_terms(record: &Record) -> Json {
    let text = |field: &str| match record.values.iter().find(|(name, _)| *name == field) {
        Some((_, Value::Text(s))) => Some(s.as_str()),
        _ => None,
    };
    terms_value(&karen_core::search::index_terms(text("subject"), text("content").unwrap_or("")))
}

/// The Firestore array of `terms`.
pub fn terms_value(terms: &[String]) -> Json {
    let values: Vec<Json> = terms.iter().map(|t| json!({"stringValue": t})).collect();
    json!({"arrayValue": {"values": values}})
}

/// The integer field `field` of a document, 0 when the document or the field is absent.
/// Firestore sends 64-bit integers as strings.
pub fn integer_field(doc: Option<&Json>, field: &str) -> i64 {
    doc.and_then(|d| d.pointer(&format!("/fields/{field}/integerValue")))
        .and_then(|v| v.as_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The entity of a document (`{"name", "fields", ...}`).
pub fn entity<E: Entity>(doc: &Json) -> StoreResult<E> {
    let f = doc.get("fields");
    let mut record = Record::with_capacity(E::FIELDS.len());
    for field in E::FIELDS {
        let value = decode(field.name, field.ty, f.and_then(|f| f.get(field.name)));
        record.values.push((field.name, value.map_err(|e| StoreError::corrupt(E::KIND.name(), e))?));
    }
    E::from_record(record).map_err(|e| StoreError::corrupt(E::KIND.name(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_firestore_values() {
        let v = json!({"a": [1, 2.5, "x", null, true, {"b": []}], "c": {"d": -7}});
        assert_eq!(to_json(&from_json(&v)), v);
    }
}
