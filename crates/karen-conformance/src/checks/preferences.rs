//! Customer preferences: taxonomy, the unique key, upsert, concurrency and pattern 1.

use std::sync::Arc;

use chrono::Duration;
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::{Store, Value};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

/// Preferences store every field, validate against the section 1.2 taxonomy and take defaults.
pub async fn crud_and_taxonomy<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("p@example.com")).await.unwrap();
    let msg = k.create(message(c.id, Medium::Email, Direction::Inbound, k.now())).await.unwrap();
    let p = k
        .create(CustomerPreference {
            preference_value: json!({"value": "email", "metadata": {"fallback": "sms", "business_hours_only": true}}),
            context: Some(
                json!({"learned_from_pattern": "always responds to email within 2 hours", "interaction_count": 15}),
            ),
            learned_from_interaction_id: Some(msg.id),
            confidence_score: dec("0.85"),
            expires_at: Some(k.now() + Duration::days(30)),
            ..preference(c.id, "preferred_channel", json!(null), PreferenceMedium::General)
        })
        .await
        .unwrap();
    assert_eq!(p.learned_at, Some(k.now()), "learned_at defaults to now");
    assert_eq!((p.is_active, p.priority, p.created_by.as_str()), (true, 1, "system"));
    assert_same(&k.get::<CustomerPreference>(p.id).await.unwrap(), &p);

    let bad = |key: &str, value: serde_json::Value| CustomerPreference {
        preference_value: value,
        ..preference(c.id, key, json!(null), PreferenceMedium::General)
    };
    assert_invalid(k.create(bad("preferred_channel", json!({"value": "fax"}))).await, "preference_value.value");
    assert_invalid(k.create(bad("preferred_channel", json!("email"))).await, "preference_value");
    assert_invalid(
        k.create(CustomerPreference {
            preference_type: PreferenceType::Billing,
            ..bad("shoe_size", json!({"value": 9}))
        })
        .await,
        "preference_key",
    );
    assert_invalid(k.create(bad("Shoe Size", json!({"value": 9}))).await, "preference_key");
    let custom = k.create(bad("shoe_size", json!({"value": {"eu": 43}}))).await.unwrap();
    assert_eq!(custom.preference_type, PreferenceType::Custom);
    let ok = preference(c.id, "timezone", json!("America/New_York"), PreferenceMedium::General);
    assert_invalid(k.create(CustomerPreference { priority: 6, ..ok.clone() }).await, "priority");
    assert_invalid(k.create(CustomerPreference { priority: 0, ..ok.clone() }).await, "priority");
    assert_invalid(
        k.create(CustomerPreference { confidence_score: dec("1.01"), ..ok.clone() }).await,
        "confidence_score",
    );
    assert_invalid(
        k.create(CustomerPreference { confidence_score: dec("0.855"), ..ok.clone() }).await,
        "confidence_score",
    );
    assert_invalid(k.create(CustomerPreference { created_by: "x".repeat(51), ..ok.clone() }).await, "created_by");
    assert_eq!(all::<CustomerPreference, S>(k, &[("customer_id", Value::Uuid(c.id))]).await.len(), 2);

    let patch = json!({"confidence_score": "0.95", "is_active": false});
    let changed: CustomerPreference = k.update(p.id, patch.as_object().unwrap()).await.unwrap();
    assert_eq!((changed.confidence_score, changed.is_active), (dec("0.95"), false));
    assert_invalid(
        k.update::<CustomerPreference>(p.id, json!({"customer_id": Uuid::now_v7()}).as_object().unwrap()).await,
        "customer_id",
    );
    k.delete::<CustomerPreference>(p.id).await.unwrap();
    assert_not_found(k.get::<CustomerPreference>(p.id).await);
}

/// One row per (customer, type, key, medium): a second create conflicts, upsert replaces the
/// value in place keeping id and created_at; another medium is another row.
pub async fn unique_key_and_upsert<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("u@example.com")).await.unwrap();
    let first =
        k.create(preference(c.id, "preferred_channel", json!("email"), PreferenceMedium::General)).await.unwrap();
    assert_conflict(
        k.create(preference(c.id, "preferred_channel", json!("sms"), PreferenceMedium::General)).await,
        "preference_key",
    );
    let sms = k.create(preference(c.id, "preferred_channel", json!("sms"), PreferenceMedium::Sms)).await.unwrap();
    assert_ne!(sms.id, first.id);

    ctx.clock.advance(Duration::minutes(5));
    let replaced = k
        .upsert_preference(CustomerPreference {
            source: PreferenceSource::Explicit,
            confidence_score: dec("1.00"),
            ..preference(c.id, "preferred_channel", json!("voice"), PreferenceMedium::General)
        })
        .await
        .unwrap();
    assert_eq!(replaced.id, first.id, "upsert keeps the row's id");
    assert_eq!(replaced.created_at, first.created_at);
    assert_eq!(replaced.updated_at, k.now());
    assert_eq!(replaced.preference_value, json!({"value": "voice"}));
    assert_eq!(replaced.source, PreferenceSource::Explicit);
    let rows = all::<CustomerPreference, S>(k, &[("customer_id", Value::Uuid(c.id))]).await;
    assert_eq!(rows.len(), 2);
    assert_invalid(
        k.upsert_preference(preference(c.id, "preferred_channel", json!("fax"), PreferenceMedium::General)).await,
        "preference_value.value",
    );
    assert_eq!(k.get::<CustomerPreference>(first.id).await.unwrap(), replaced, "a rejected upsert changes nothing");
}

/// Sixteen concurrent upserts of one key leave exactly one row holding one of the values.
pub async fn concurrent_upserts_keep_one_row<S: Store>(ctx: Ctx<S>) {
    let ctx = Arc::new(ctx);
    let c = ctx.karen.create(customer("race@example.com")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            ctx.karen
                .upsert_preference(preference(c.id, "counter", json!(i), PreferenceMedium::General))
                .await
                .map(|p| p.id)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.expect("task").expect("every concurrent upsert succeeds"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "all upserts hit the same row");
    let rows = all::<CustomerPreference, S>(&ctx.karen, &[("customer_id", Value::Uuid(c.id))]).await;
    assert_eq!(rows.len(), 1);
    let v = rows[0].preference_value["value"].as_i64().unwrap();
    assert!((0..16).contains(&v));
}

/// Pattern 1: active, unexpired rows of a type, by priority then confidence desc then id;
/// a row expiring exactly now is expired.
pub async fn listing_order_expiry_and_activity<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let c = k.create(customer("o@example.com")).await.unwrap();
    let other = k.create(customer("other@example.com")).await.unwrap();
    let mk = |key: &str, medium, priority, conf: &str| CustomerPreference {
        priority,
        confidence_score: dec(conf),
        ..preference(c.id, key, json!("email"), medium)
    };
    let p_low = k.create(mk("preferred_channel", PreferenceMedium::Email, 2, "0.99")).await.unwrap();
    let p_hi = k.create(mk("preferred_channel", PreferenceMedium::General, 1, "0.50")).await.unwrap();
    let p_hi2 = k.create(mk("secondary_channel", PreferenceMedium::General, 1, "0.90")).await.unwrap();
    let tie_a = k.create(mk("preferred_channel", PreferenceMedium::Sms, 3, "0.70")).await.unwrap();
    let tie_b = k.create(mk("preferred_channel", PreferenceMedium::Voice, 3, "0.70")).await.unwrap();
    k.create(CustomerPreference { is_active: false, ..mk("secondary_channel", PreferenceMedium::Email, 1, "1.00") })
        .await
        .unwrap();
    k.create(CustomerPreference { expires_at: Some(now), ..mk("secondary_channel", PreferenceMedium::Sms, 1, "1.00") })
        .await
        .unwrap();
    let later = k
        .create(CustomerPreference {
            expires_at: Some(now + Duration::microseconds(1)),
            ..mk("secondary_channel", PreferenceMedium::Voice, 4, "0.10")
        })
        .await
        .unwrap();
    k.create(preference(c.id, "language", json!("en"), PreferenceMedium::General)).await.unwrap();
    k.create(preference(other.id, "preferred_channel", json!("sms"), PreferenceMedium::General)).await.unwrap();

    let got: Vec<Uuid> =
        k.preferences(c.id, Some(PreferenceType::CommunicationMethod)).await.unwrap().iter().map(|p| p.id).collect();
    let (t1, t2) = if tie_a.id < tie_b.id { (tie_a.id, tie_b.id) } else { (tie_b.id, tie_a.id) };
    assert_eq!(got, vec![p_hi2.id, p_hi.id, p_low.id, t1, t2, later.id]);

    ctx.clock.advance(Duration::microseconds(1));
    let got = k.preferences(c.id, Some(PreferenceType::CommunicationMethod)).await.unwrap();
    assert_eq!(got.len(), 5, "the row expiring exactly now is left out");
    assert_eq!(k.preferences(c.id, None).await.unwrap().len(), 6, "all types");
    assert!(k.preferences(Uuid::now_v7(), None).await.unwrap().is_empty());
    // The route's form: the same rows, and not found for a customer that does not exist, told
    // apart from a customer without preferences.
    let routed = k.customer_preferences(c.id, Some(PreferenceType::CommunicationMethod)).await.unwrap();
    assert_eq!(routed.iter().map(|p| p.id).collect::<Vec<_>>(), got.iter().map(|p| p.id).collect::<Vec<_>>());
    assert_not_found(k.customer_preferences(Uuid::now_v7(), None).await);
    let bare = k.create(customer("bare@example.com")).await.unwrap();
    assert!(k.customer_preferences(bare.id, None).await.unwrap().is_empty());
}

/// A preference needs an existing customer; its conversation link must exist too.
pub async fn references_are_checked<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let ghost = Uuid::now_v7();
    assert_reference(
        k.create(preference(ghost, "preferred_channel", json!("email"), PreferenceMedium::General)).await,
        "customer_id",
    );
    assert_reference(
        k.upsert_preference(preference(ghost, "preferred_channel", json!("email"), PreferenceMedium::General)).await,
        "customer_id",
    );
    let c = k.create(customer("r@example.com")).await.unwrap();
    assert_reference(
        k.create(CustomerPreference {
            learned_from_interaction_id: Some(Uuid::now_v7()),
            ..preference(c.id, "preferred_channel", json!("email"), PreferenceMedium::General)
        })
        .await,
        "learned_from_interaction_id",
    );
    assert!(all::<CustomerPreference, S>(k, &[]).await.is_empty());
}
