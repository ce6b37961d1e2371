//! Partial updates: a JSON object naming the fields to change (RFC 7396 at the top level:
//! each named field is replaced, `null` clears an optional field).

use serde_json::{Map, Value as Json};

use crate::entity::Entity;
use crate::error::{StoreError, StoreResult};

/// The fields to change and their new values.
pub type Patch = Map<String, Json>;

/// Writes each top-level number with no fractional part (`30.0`) as an integer: JSON Schema and
/// JavaScript count it as one, and a field of an integer type must take it.
pub fn whole_numbers(fields: &mut Map<String, Json>) {
    for value in fields.values_mut() {
        if let Some(n) = value.as_f64().filter(|n| value.is_f64() && n.fract() == 0.0 && n.abs() < 9.0e15) {
            *value = Json::from(n as i64);
        }
    }
}

/// Applies `patch` to `current`, refusing unknown and immutable fields and naming the field
/// whose new value does not fit its type. Validation of the result is the caller's next step.
pub fn apply<E: Entity>(current: &E, patch: &Patch) -> StoreResult<E> {
    let entity = E::KIND.name();
    for key in patch.keys() {
        if !E::FIELDS.iter().any(|f| f.name == key) {
            return Err(StoreError::invalid(key.as_str(), format!("is not a field of {entity}")));
        }
        if E::IMMUTABLE.contains(&key.as_str()) {
            return Err(StoreError::invalid(key.as_str(), "cannot be changed"));
        }
    }
    let Json::Object(base) = serde_json::to_value(current).map_err(StoreError::backend)? else {
        return Err(StoreError::invalid(entity, "does not serialise to an object"));
    };
    let mut patch = patch.clone();
    whole_numbers(&mut patch);
    let patch = &patch;
    let mut merged = base.clone();
    for (k, v) in patch {
        merged.insert(k.clone(), v.clone());
    }
    match serde_json::from_value::<E>(Json::Object(merged)) {
        Ok(next) => Ok(next),
        Err(err) => {
            // Name the field: apply each changed field alone until one fails.
            for (k, v) in patch {
                let mut one = base.clone();
                one.insert(k.clone(), v.clone());
                if let Err(e) = serde_json::from_value::<E>(Json::Object(one)) {
                    return Err(StoreError::invalid(k.as_str(), e.to_string()));
                }
            }
            Err(StoreError::invalid(entity, err.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Customer;
    use serde_json::json;

    fn patch(v: Json) -> Patch {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn changes_named_fields_only() {
        let c = Customer { first_name: Some("Ann".into()), last_name: Some("Lee".into()), ..Default::default() };
        let next = apply(&c, &patch(json!({"first_name": "Anna", "last_name": null}))).unwrap();
        assert_eq!(next.first_name.as_deref(), Some("Anna"));
        assert_eq!(next.last_name, None);
        assert_eq!(next.customer_type, c.customer_type);
    }

    #[test]
    fn names_the_bad_field() {
        let c = Customer::default();
        let e = apply(&c, &patch(json!({"status": "asleep"}))).unwrap_err();
        assert_eq!(e.field(), Some("status"));
        let e = apply(&c, &patch(json!({"first_name": "A", "total_jobs": 1e12}))).unwrap_err();
        assert_eq!(e.field(), Some("total_jobs"));
        let e = apply(&c, &patch(json!({"id": "00000000-0000-0000-0000-000000000001"}))).unwrap_err();
        assert_eq!(e.to_string(), "invalid id: cannot be changed");
        let e = apply(&c, &patch(json!({"shoe_size": 9}))).unwrap_err();
        assert_eq!(e.field(), Some("shoe_size"));
    }
}
