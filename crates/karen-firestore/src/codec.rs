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

/// The message's NLP results that section 2.3 of the design nests in the document's
/// `nlp_analysis` map, beside the other keys of the full analysis (docs/decisions.md K55).
pub const NLP_RESULTS: [&str; 7] =
    ["intent", "sentiment", "priority", "confidence_score", "entities", "keywords", "topics"];

/// The map of a message's document that holds its NLP results and the full analysis.
pub const NLP_MAP: &str = "nlp_analysis";

/// The full analysis's own values of keys named like a result, which the results hold in the
/// map; present only when the analysis has such keys.
const NLP_SHADOWED: &str = "_nlp_analysis_shadowed";

/// The full analysis when the map's other keys cannot stand for it: null when there is none,
/// or a value that is not an object (written before karen required one). Absent otherwise.
const NLP_VALUE: &str = "_nlp_analysis_value";

/// The document path of a conversation field: the NLP results live in the `nlp_analysis` map.
pub fn field_path(kind: EntityKind, field: &str) -> String {
    if kind == EntityKind::Conversation && NLP_RESULTS.contains(&field) {
        format!("{NLP_MAP}.{field}")
    } else {
        field.to_string()
    }
}

/// The `fields` of a document for `entity`. A message's carry its search terms, so every write
/// of a message keeps them in step, and nest its NLP results in `nlp_analysis`.
pub fn fields<E: Entity>(entity: &E) -> Json {
    let mut m = Map::new();
    let record = entity.to_record();
    if E::KIND == EntityKind::Conversation {
        m.insert(TERMS_FIELD.to_string(), search_terms(&record));
        conversation_fields(record, &mut m);
    } else {
        for (name, value) in record.values {
            m.insert(name.to_string(), encode(&value));
        }
    }
    Json::Object(m)
}

/// A message record's fields, the NLP results and the full analysis's keys in one map.
fn conversation_fields(record: Record, m: &mut Map<String, Json>) {
    let mut analysis = None;
    let mut nested = Map::new();
    for (name, value) in record.values {
        if name == NLP_MAP {
            analysis = Some(value);
        } else if NLP_RESULTS.contains(&name) {
            nested.insert(name.to_string(), encode(&value));
        } else {
            m.insert(name.to_string(), encode(&value));
        }
    }
    match analysis {
        Some(Value::Json(Json::Object(full))) => {
            let mut shadowed = Map::new();
            for (key, value) in full {
                let target = if NLP_RESULTS.contains(&key.as_str()) { &mut shadowed } else { &mut nested };
                target.insert(key, from_json(&value));
            }
            if !shadowed.is_empty() {
                m.insert(NLP_SHADOWED.to_string(), json!({"mapValue": {"fields": shadowed}}));
            }
        }
        other => {
            m.insert(NLP_VALUE.to_string(), other.as_ref().map_or(json!({"nullValue": null}), encode));
        }
    }
    m.insert(NLP_MAP.to_string(), json!({"mapValue": {"fields": nested}}));
}

/// A message document's NLP fields as a flat record has them: the results and the full
/// analysis taken out of `nlp_analysis` (only these, so reading a message copies no content).
/// A document an older karen wrote (top-level results, which this layout never has) needs
/// none: its fields are read as they are, so migration 14 can read it.
fn nlp_fields(fields: &Map<String, Json>) -> Map<String, Json> {
    let mut flat = Map::new();
    if fields.contains_key("intent") {
        return flat;
    }
    let empty = Map::new();
    let nested = fields.get(NLP_MAP).and_then(|m| m.pointer("/mapValue/fields")).and_then(Json::as_object);
    let mut rest = Map::new();
    for (key, value) in nested.unwrap_or(&empty) {
        let target = if NLP_RESULTS.contains(&key.as_str()) { &mut flat } else { &mut rest };
        target.insert(key.clone(), value.clone());
    }
    let analysis = match fields.get(NLP_VALUE) {
        Some(value) => value.clone(),
        None => {
            if let Some(shadowed) = fields.get(NLP_SHADOWED).and_then(|s| s.pointer("/mapValue/fields")) {
                rest.extend(shadowed.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
            }
            json!({"mapValue": {"fields": rest}})
        }
    };
    flat.insert(NLP_MAP.to_string(), analysis);
    flat
}

/// Whether a message document has the layout of karen before migration 14 (NLP results as
/// top-level fields).
pub fn has_flat_nlp_results(doc: &Json) -> bool {
    doc.pointer("/fields/intent").is_some()
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
    let nlp = match f.and_then(Json::as_object) {
        Some(fields) if E::KIND == EntityKind::Conversation => nlp_fields(fields),
        _ => Map::new(),
    };
    let mut record = Record::with_capacity(E::FIELDS.len());
    for field in E::FIELDS {
        let stored = nlp.get(field.name).or_else(|| f.and_then(|f| f.get(field.name)));
        let value = decode(field.name, field.ty, stored);
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
