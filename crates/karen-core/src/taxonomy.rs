//! The preference taxonomy of schema-design.md section 1.2, typed and validated
//! (decisions.md item 10). `preference_value` is always `{"value": ..., "metadata": {...}}`.

use serde_json::Value as Json;

use crate::enums::PreferenceType;
use crate::error::{StoreError, StoreResult};

/// What a preference's `value` must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One string out of a list.
    OneOf(&'static [&'static str]),
    /// A list of strings, each out of a list.
    ListOf(&'static [&'static str]),
    /// A list of free, non-empty strings.
    FreeList,
    /// A free, non-empty string.
    FreeText,
    /// `true` or `false`.
    Bool,
    /// An IANA time-zone name such as `America/New_York`.
    Timezone,
    /// `{start: "HH:MM", end: "HH:MM"}` with start before end.
    TimeRange,
    /// `{enabled: bool, advance_notice: .., method: ..}`.
    Reminder,
    /// `{min: n, max: n, currency: "USD"}` with 0 <= min <= max.
    Budget,
    /// `{phone: E.164, relationship: text}`.
    EmergencyContact,
}

const CHANNELS: &[&str] = &["email", "sms", "voice"];
const DAYS: &[&str] = &["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// The keys of a listed type and the shape of each; `None` for `custom` (any key).
pub fn keys(ty: PreferenceType) -> Option<&'static [(&'static str, Shape)]> {
    use Shape::*;
    Some(match ty {
        PreferenceType::CommunicationMethod => &[
            ("preferred_channel", OneOf(&["email", "sms", "voice", "any"])),
            ("secondary_channel", OneOf(&["email", "sms", "voice", "none"])),
            ("avoid_channels", ListOf(CHANNELS)),
            ("response_urgency", OneOf(&["immediate", "within_hour", "within_day", "flexible"])),
            ("business_hours_only", Bool),
            ("timezone", Timezone),
        ],
        PreferenceType::Scheduling => &[
            ("preferred_days", ListOf(DAYS)),
            ("avoided_days", ListOf(DAYS)),
            ("preferred_times", TimeRange),
            ("lead_time_preference", OneOf(&["same_day", "next_day", "week_advance", "flexible"])),
            ("appointment_duration_preference", OneOf(&["short", "standard", "extended"])),
            ("reminder_preferences", Reminder),
        ],
        PreferenceType::Service => &[
            ("preferred_technician", FreeText),
            ("service_history", FreeList),
            ("property_type", OneOf(&["residential", "commercial", "rental"])),
            ("property_access", OneOf(&["key_available", "must_be_present", "lockbox"])),
            ("special_requirements", FreeList),
            ("budget_range", Budget),
        ],
        PreferenceType::CommunicationStyle => &[
            ("formality_level", OneOf(&["formal", "professional", "casual", "friendly"])),
            ("detail_level", OneOf(&["brief", "standard", "detailed"])),
            ("technical_level", OneOf(&["simple", "moderate", "technical"])),
            ("emoji_usage", OneOf(&["none", "minimal", "moderate", "frequent"])),
            ("language", OneOf(&["en", "es", "fr"])),
        ],
        PreferenceType::Emergency => &[
            ("emergency_contact", EmergencyContact),
            ("escalation_threshold", OneOf(&["immediate", "30_minutes", "1_hour"])),
            ("notification_method", OneOf(&["call", "sms", "email", "all"])),
            ("after_hours_contact", Bool),
        ],
        PreferenceType::Billing => &[
            ("preferred_payment_method", OneOf(&["credit_card", "check", "cash", "invoice"])),
            ("billing_frequency", OneOf(&["per_service", "monthly", "quarterly"])),
            ("invoice_delivery", OneOf(&["email", "mail", "text"])),
            ("auto_pay_enabled", Bool),
            ("billing_contact", OneOf(&["primary", "alternate"])),
        ],
        PreferenceType::Custom => return None,
    })
}

/// The rule of a preference's value, wherever one is given.
pub const PREFERENCE_VALUE: crate::rules::Rule = crate::rules::Rule::PreferenceValue;

/// The rule of a preference key, wherever one is given.
pub const PREFERENCE_KEY: crate::rules::Rule = crate::rules::Rule::Text(100);

/// Checks a preference's key and value against the taxonomy.
pub fn validate(ty: PreferenceType, key: &str, value: &Json) -> StoreResult<()> {
    crate::rules::Checked::check(&mut key.to_string(), "preference_key", PREFERENCE_KEY)?;
    crate::rules::preference_value("preference_value", value)?;
    let inner = &value["value"];
    match keys(ty) {
        None => {
            let snake = key.starts_with(|c: char| c.is_ascii_lowercase())
                && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !snake {
                return Err(StoreError::invalid(
                    "preference_key",
                    "a custom key must be snake_case (^[a-z][a-z0-9_]*$)",
                ));
            }
            Ok(())
        }
        Some(list) => {
            let shape = list.iter().find(|(k, _)| *k == key).map(|(_, s)| *s).ok_or_else(|| {
                let names: Vec<&str> = list.iter().map(|(k, _)| *k).collect();
                StoreError::invalid(
                    "preference_key",
                    format!(
                        "{key:?} is not a key of type {ty}; allowed: {} (use type `custom` for others)",
                        names.join(", ")
                    ),
                )
            })?;
            check_shape(shape, inner)
        }
    }
}

fn check_shape(shape: Shape, v: &Json) -> StoreResult<()> {
    const F: &str = "preference_value.value";
    let bad = |rule: String| Err(StoreError::invalid(F, rule));
    match shape {
        Shape::OneOf(allowed) => match v.as_str() {
            Some(s) if allowed.contains(&s) => Ok(()),
            _ => bad(format!("must be one of: {}", allowed.join(", "))),
        },
        Shape::ListOf(allowed) => match v.as_array() {
            Some(items) if items.iter().all(|i| i.as_str().is_some_and(|s| allowed.contains(&s))) => Ok(()),
            _ => bad(format!("must be a list of: {}", allowed.join(", "))),
        },
        Shape::FreeList => match v.as_array() {
            Some(items) if items.iter().all(|i| i.as_str().is_some_and(|s| !s.trim().is_empty())) => Ok(()),
            _ => bad("must be a list of non-empty strings".into()),
        },
        Shape::FreeText => match v.as_str() {
            Some(s) if !s.trim().is_empty() && s.chars().count() <= 255 => Ok(()),
            _ => bad("must be a non-empty string of at most 255 characters".into()),
        },
        Shape::Bool => match v {
            Json::Bool(_) => Ok(()),
            _ => bad("must be true or false".into()),
        },
        Shape::Timezone => match v.as_str() {
            Some(s) if is_tz_name(s) => Ok(()),
            _ => bad("must be an IANA time-zone name such as America/New_York".into()),
        },
        Shape::TimeRange => {
            let start = v.get("start").and_then(Json::as_str).and_then(parse_hhmm);
            let end = v.get("end").and_then(Json::as_str).and_then(parse_hhmm);
            match (start, end) {
                (Some(s), Some(e)) if s < e && object_has_only(v, &["start", "end"]) => Ok(()),
                _ => bad("must be {start: \"HH:MM\", end: \"HH:MM\"} with start before end".into()),
            }
        }
        Shape::Reminder => {
            let ok = object_has_only(v, &["enabled", "advance_notice", "method"])
                && v.get("enabled").is_some_and(Json::is_boolean)
                && v.get("advance_notice")
                    .is_none_or(|a| a.as_str().is_some_and(|s| ["24_hours", "2_hours", "30_minutes"].contains(&s)))
                && v.get("method").is_none_or(|m| m.as_str().is_some_and(|s| ["email", "sms", "both"].contains(&s)));
            if ok {
                Ok(())
            } else {
                bad("must be {enabled: bool, advance_notice: 24_hours|2_hours|30_minutes, method: email|sms|both}"
                    .into())
            }
        }
        Shape::Budget => {
            let min = v.get("min").and_then(Json::as_f64);
            let max = v.get("max").and_then(Json::as_f64);
            let cur_ok =
                v.get("currency").is_none_or(|c| c.as_str().is_some_and(|s| crate::validate::currency("c", s).is_ok()));
            match (min, max) {
                (Some(a), Some(b))
                    if a >= 0.0 && a <= b && cur_ok && object_has_only(v, &["min", "max", "currency"]) =>
                {
                    Ok(())
                }
                _ => bad("must be {min: number, max: number, currency: \"USD\"} with 0 <= min <= max".into()),
            }
        }
        Shape::EmergencyContact => {
            let phone_ok =
                v.get("phone").and_then(Json::as_str).is_some_and(|p| crate::validate::phone("phone", p).is_ok());
            let rel_ok = v.get("relationship").is_none_or(|r| r.as_str().is_some_and(|s| !s.trim().is_empty()));
            if phone_ok && rel_ok && object_has_only(v, &["phone", "relationship"]) {
                Ok(())
            } else {
                bad("must be {phone: \"+17575550100\", relationship: text}".into())
            }
        }
    }
}

fn object_has_only(v: &Json, allowed: &[&str]) -> bool {
    v.as_object().is_some_and(|o| o.keys().all(|k| allowed.contains(&k.as_str())))
}

/// Parses `HH:MM` (24-hour) into minutes after midnight.
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A name of the IANA time-zone database (chrono-tz), such as `America/New_York`.
fn is_tz_name(s: &str) -> bool {
    s.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn listed_keys_validate_their_values() {
        let ty = PreferenceType::CommunicationMethod;
        validate(ty, "preferred_channel", &json!({"value": "email", "metadata": {"fallback": "sms"}})).unwrap();
        let err = validate(ty, "preferred_channel", &json!({"value": "fax"})).unwrap_err();
        assert_eq!(err.field(), Some("preference_value.value"));
        validate(ty, "avoid_channels", &json!({"value": ["sms", "voice"]})).unwrap();
        assert!(validate(ty, "avoid_channels", &json!({"value": ["pigeon"]})).is_err());
        validate(ty, "timezone", &json!({"value": "America/New_York"})).unwrap();
        assert!(validate(ty, "timezone", &json!({"value": "eastern"})).is_err());
        assert!(validate(ty, "timezone", &json!({"value": "America/Nowhere"})).is_err(), "only real zones");
        validate(PreferenceType::Scheduling, "preferred_times", &json!({"value": {"start": "09:00", "end": "17:00"}}))
            .unwrap();
        assert!(validate(
            PreferenceType::Scheduling,
            "preferred_times",
            &json!({"value": {"start": "17:00", "end": "09:00"}})
        )
        .is_err());
        validate(
            PreferenceType::Service,
            "budget_range",
            &json!({"value": {"min": 100, "max": 500, "currency": "USD"}}),
        )
        .unwrap();
        assert!(validate(PreferenceType::Service, "budget_range", &json!({"value": {"min": 600, "max": 500}})).is_err());
        validate(
            PreferenceType::Emergency,
            "emergency_contact",
            &json!({"value": {"phone": "+17575550100", "relationship": "spouse"}}),
        )
        .unwrap();
        validate(
            PreferenceType::Scheduling,
            "reminder_preferences",
            &json!({"value": {"enabled": true, "advance_notice": "2_hours", "method": "both"}}),
        )
        .unwrap();
    }

    #[test]
    fn unknown_keys_only_as_custom() {
        let err = validate(PreferenceType::Billing, "favourite_colour", &json!({"value": "blue"})).unwrap_err();
        assert_eq!(err.field(), Some("preference_key"));
        assert!(err.to_string().contains("custom"));
        validate(PreferenceType::Custom, "favourite_colour", &json!({"value": {"any": ["thing"]}})).unwrap();
        assert!(validate(PreferenceType::Custom, "Favourite Colour", &json!({"value": 1})).is_err());
    }

    #[test]
    fn value_envelope_is_required() {
        assert!(validate(PreferenceType::Custom, "k", &json!("email")).is_err());
        assert!(validate(PreferenceType::Custom, "k", &json!({"metadata": {}})).is_err());
        let err = validate(PreferenceType::Custom, "k", &json!({"value": 1, "extra": 2})).unwrap_err();
        assert_eq!(err.field(), Some("preference_value.extra"));
    }
}
