//! Builders of valid entities and assertions on errors, shared by the checks.

use chrono::{DateTime, Utc};
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::query::PageRequest;
use karen_core::{Entity, Karen, Store, StoreError, StoreResult, Value};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

/// A decimal from text.
pub fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

/// A valid customer with this e-mail.
pub fn customer(email: &str) -> Customer {
    Customer {
        first_name: Some("Ann".into()),
        last_name: Some("Lee".into()),
        primary_email: Some(email.into()),
        primary_phone: Some("+17575550100".into()),
        ..Default::default()
    }
}

/// A valid preference of `customer_id`.
pub fn preference(
    customer_id: Uuid,
    key: &str,
    value: serde_json::Value,
    medium: PreferenceMedium,
) -> CustomerPreference {
    let ty = match key {
        "preferred_channel" | "secondary_channel" | "business_hours_only" | "timezone" | "response_urgency" => {
            PreferenceType::CommunicationMethod
        }
        "formality_level" | "detail_level" | "language" => PreferenceType::CommunicationStyle,
        "preferred_days" | "preferred_times" => PreferenceType::Scheduling,
        _ => PreferenceType::Custom,
    };
    CustomerPreference {
        customer_id,
        preference_type: ty,
        preference_key: key.into(),
        preference_value: json!({ "value": value }),
        confidence_score: dec("0.80"),
        source: PreferenceSource::Learned,
        medium,
        ..Default::default()
    }
}

/// A valid message of `customer_id` at `at`.
pub fn message(customer_id: Uuid, medium: Medium, direction: Direction, at: DateTime<Utc>) -> Conversation {
    Conversation {
        customer_id,
        medium,
        direction,
        content: "Hi, I have a leaky faucet in my kitchen.".into(),
        message_timestamp: at,
        ..Default::default()
    }
}

/// A valid category.
pub fn category(name: &str, parent: Option<Uuid>) -> ServiceCategory {
    ServiceCategory { name: name.into(), slug: slugify(name), parent_category_id: parent, ..Default::default() }
}

/// A valid tiered service in `category_id`.
pub fn service(category_id: Uuid, name: &str, keywords: &[&str]) -> Service {
    Service {
        category_id,
        name: name.into(),
        slug: slugify(name),
        pricing_model: PricingModel::Tiered,
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        ..Default::default()
    }
}

/// Lower-case words joined by hyphens.
pub fn slugify(name: &str) -> String {
    karen_core::query::words(name).collect::<Vec<_>>().join("-")
}

/// Every row of `E` matching `filters`, paging through the listing.
pub async fn all<E: Entity, S: Store>(k: &Karen<S>, filters: &[(&str, Value)]) -> Vec<E> {
    let mut out = Vec::new();
    let mut page = PageRequest::of(200);
    loop {
        let p = k.list::<E>(filters, &page).await.expect("list");
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => page = PageRequest::after(c, 200),
            None => return out,
        }
    }
}

/// Asserts two entities have the same JSON form: stricter than `==`, which calls `0` and
/// `0.00` equal, while a client sees the difference.
#[track_caller]
pub fn assert_same<E: Entity>(got: &E, want: &E) {
    let (g, w) = (serde_json::to_value(got).expect("json"), serde_json::to_value(want).expect("json"));
    assert_eq!(g, w, "the stored {} reads back exactly as written", E::KIND.name());
}

/// Asserts an invalid-input error naming `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: StoreResult<T>, field: &str) {
    match result {
        Err(StoreError::Invalid { field: f, rule }) => {
            assert_eq!(f, field, "error names the wrong field (rule: {rule})");
            assert!(!rule.is_empty(), "the rule is described");
        }
        other => panic!("expected invalid {field}, got {other:?}"),
    }
}

/// Asserts a conflict error whose rule mentions `rule_part`.
#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: StoreResult<T>, rule_part: &str) {
    match result {
        Err(StoreError::Conflict { rule, .. }) => {
            assert!(rule.contains(rule_part), "conflict rule {rule:?} lacks {rule_part:?}")
        }
        other => panic!("expected conflict on {rule_part}, got {other:?}"),
    }
}

/// Asserts a reference error naming `field`.
#[track_caller]
pub fn assert_reference<T: std::fmt::Debug>(result: StoreResult<T>, field: &str) {
    match result {
        Err(StoreError::Reference { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected reference error on {field}, got {other:?}"),
    }
}

/// Asserts an in-use error (a restricted delete) naming the referring `field`.
#[track_caller]
pub fn assert_in_use<T: std::fmt::Debug>(result: StoreResult<T>, field: &str) {
    match result {
        Err(StoreError::InUse { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected in-use error on {field}, got {other:?}"),
    }
}

/// Asserts a not-found error.
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: StoreResult<T>) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}
