//! A neutral, typed representation of one entity as named field values.
//!
//! Each entity says once, in [`crate::Entity::FIELDS`], which fields it has and of what type;
//! backends turn a [`Record`] into their own rows or documents. This keeps the mapping of every
//! field in one place instead of once per backend.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};

/// The storage type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A UUID.
    Uuid,
    /// Text (VARCHAR or TEXT), including enum values.
    Text,
    /// A boolean.
    Bool,
    /// A 32-bit integer.
    Int,
    /// An exact decimal with this many digits after the point.
    Decimal(u32),
    /// A UTC timestamp with microsecond precision.
    Timestamp,
    /// A calendar date.
    Date,
    /// A JSON document.
    Json,
    /// An array of text.
    TextArray,
}

/// One field of an entity: its name (the design's column and document field name) and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Column / document field name.
    pub name: &'static str,
    /// Storage type.
    pub ty: FieldType,
}

/// Shorthand constructor used by the entity field tables.
pub const fn field(name: &'static str, ty: FieldType) -> Field {
    Field { name, ty }
}

/// One field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL / Firestore null.
    Null,
    /// A UUID.
    Uuid(Uuid),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i32),
    /// An exact decimal.
    Decimal(Decimal),
    /// A UTC timestamp.
    Timestamp(DateTime<Utc>),
    /// A date.
    Date(NaiveDate),
    /// A JSON document.
    Json(serde_json::Value),
    /// An array of text.
    TextArray(Vec<String>),
}

macro_rules! value_from {
    ($t:ty, $variant:ident) => {
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v)
            }
        }
        impl From<Option<$t>> for Value {
            fn from(v: Option<$t>) -> Self {
                v.map_or(Value::Null, Value::$variant)
            }
        }
    };
}
value_from!(Uuid, Uuid);
value_from!(String, Text);
value_from!(bool, Bool);
value_from!(i32, Int);
value_from!(Decimal, Decimal);
value_from!(DateTime<Utc>, Timestamp);
value_from!(NaiveDate, Date);
value_from!(serde_json::Value, Json);
value_from!(Vec<String>, TextArray);

/// An entity as (field name, value) pairs, in the order of its `FIELDS`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// The pairs.
    pub values: Vec<(&'static str, Value)>,
}

impl Record {
    /// An empty record with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Record { values: Vec::with_capacity(n) }
    }

    /// Removes and returns the value of `name` (Null when absent).
    pub fn take(&mut self, name: &str) -> Value {
        match self.values.iter().position(|(n, _)| *n == name) {
            Some(i) => std::mem::replace(&mut self.values[i].1, Value::Null),
            None => Value::Null,
        }
    }
}

/// A Rust field type that converts to and from a [`Value`]; lets the entity macro map every
/// field without writing each conversion by hand.
pub trait FieldValue: Sized {
    /// The JSON Schema (OpenAPI 3.1) of the field's JSON form.
    fn schema() -> serde_json::Value;
    /// The field as a value.
    fn to_value(&self) -> Value;
    /// The field from a stored value; `name` is used in the error when the value does not fit.
    fn from_value(name: &str, value: Value) -> StoreResult<Self>;
}

fn mismatch(name: &str, want: &str, got: &Value) -> StoreError {
    match got {
        Value::Null => StoreError::invalid(name, "stored value is null"),
        _ => StoreError::invalid(name, format!("stored value is not {want}")),
    }
}

macro_rules! field_value {
    ($t:ty, $variant:ident, $want:literal, $schema:expr) => {
        impl FieldValue for $t {
            fn schema() -> serde_json::Value {
                $schema
            }
            fn to_value(&self) -> Value {
                Value::$variant(self.clone())
            }
            fn from_value(name: &str, value: Value) -> StoreResult<Self> {
                match value {
                    Value::$variant(v) => Ok(v),
                    other => Err(mismatch(name, $want, &other)),
                }
            }
        }
    };
}
field_value!(String, Text, "text", serde_json::json!({"type": "string"}));
field_value!(bool, Bool, "a boolean", serde_json::json!({"type": "boolean"}));
field_value!(i32, Int, "an integer", serde_json::json!({"type": "integer", "format": "int32"}));
field_value!(
    Decimal,
    Decimal,
    "a decimal",
    serde_json::json!({"type": ["string", "number"], "format": "decimal",
        "description": "An exact decimal, written as a string such as \"85.00\" (numbers are accepted on input)."})
);
field_value!(DateTime<Utc>, Timestamp, "a timestamp", serde_json::json!({"type": "string", "format": "date-time"}));
field_value!(NaiveDate, Date, "a date", serde_json::json!({"type": "string", "format": "date"}));
field_value!(serde_json::Value, Json, "JSON", serde_json::json!({}));

impl FieldValue for Uuid {
    fn schema() -> serde_json::Value {
        serde_json::json!({"type": "string", "format": "uuid"})
    }
    fn to_value(&self) -> Value {
        Value::Uuid(*self)
    }
    fn from_value(name: &str, value: Value) -> StoreResult<Self> {
        match value {
            Value::Uuid(u) => Ok(u),
            Value::Text(s) => Uuid::parse_str(&s).map_err(|_| StoreError::invalid(name, "stored value is not a UUID")),
            other => Err(mismatch(name, "a UUID", &other)),
        }
    }
}

/// Text arrays read NULL as empty: an absent list and an empty one mean the same to karen.
impl FieldValue for Vec<String> {
    fn schema() -> serde_json::Value {
        serde_json::json!({"type": "array", "items": {"type": "string"}})
    }
    fn to_value(&self) -> Value {
        Value::TextArray(self.clone())
    }
    fn from_value(name: &str, value: Value) -> StoreResult<Self> {
        match value {
            Value::TextArray(a) => Ok(a),
            Value::Null => Ok(Vec::new()),
            other => Err(mismatch(name, "a text array", &other)),
        }
    }
}

/// A nullable field: `anyOf` the value's schema and null. Not `oneOf`: a JSON field's schema
/// (`{}`) also matches null, and `oneOf` refuses a value that matches both.
impl<T: FieldValue> FieldValue for Option<T> {
    fn schema() -> serde_json::Value {
        serde_json::json!({"anyOf": [T::schema(), {"type": "null"}]})
    }
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
    fn from_value(name: &str, value: Value) -> StoreResult<Self> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(name, v).map(Some),
        }
    }
}

/// Defines an entity struct and, from the same list, its field table and record conversions.
/// Each field names its storage [`FieldType`] after `=`.
#[macro_export]
macro_rules! entity_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[doc = $doc:literal])* pub $field:ident : $ty:ty = $fty:expr ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty ),+
        }

        impl $name {
            /// Every field of this entity with its storage type, in storage order.
            pub const FIELD_TABLE: &'static [$crate::value::Field] = &[
                $( $crate::value::Field { name: stringify!($field), ty: { use $crate::value::FieldType::*; $fty } } ),+
            ];

            /// The JSON Schema of this entity's JSON form, from its fields and their docs.
            pub fn json_schema_generated() -> serde_json::Value {
                let mut properties = serde_json::Map::new();
                $(
                    let mut schema = <$ty as $crate::value::FieldValue>::schema();
                    let doc: &str = concat!($($doc),*).trim();
                    if let Some(obj) = schema.as_object_mut() {
                        obj.insert("description".into(), serde_json::Value::String(doc.to_string()));
                    }
                    properties.insert(stringify!($field).to_string(), schema);
                )+
                serde_json::json!({"type": "object", "properties": properties, "additionalProperties": false})
            }

            fn to_record_generated(&self) -> $crate::value::Record {
                let mut r = $crate::value::Record::with_capacity(Self::FIELD_TABLE.len());
                $( r.values.push((stringify!($field), $crate::value::FieldValue::to_value(&self.$field))); )+
                r
            }

            fn from_record_generated(mut r: $crate::value::Record) -> $crate::error::StoreResult<Self> {
                Ok(Self {
                    $( $field: $crate::value::FieldValue::from_value(stringify!($field), r.take(stringify!($field)))? ),+
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many branches of a list of schemas accept `null`, for the two shapes nullable fields
    /// use: `{}` (any JSON) and `{"type": ...}`.
    fn accepting_null(branches: &serde_json::Value) -> usize {
        branches
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| match b.get("type") {
                None => true,
                Some(serde_json::Value::String(t)) => t == "null",
                Some(serde_json::Value::Array(ts)) => ts.iter().any(|t| t == "null"),
                Some(_) => false,
            })
            .count()
    }

    #[test]
    fn nullable_fields_accept_null_under_their_schema() {
        // A nullable JSON field: both branches accept null, which `oneOf` would refuse.
        let json = <Option<serde_json::Value>>::schema();
        assert!(json.get("oneOf").is_none(), "{json}");
        assert_eq!(accepting_null(&json["anyOf"]), 2);
        // A nullable text field: exactly one branch does.
        let text = <Option<String>>::schema();
        assert_eq!(accepting_null(&text["anyOf"]), 1);
    }
}
