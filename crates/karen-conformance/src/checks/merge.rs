//! Merging customers (decisions.md item 25): everything of the duplicate moves, conflicting
//! preferences keep item 9's winner and archive the other, consent keeps the more restrictive
//! status, the duplicate answers where it went, and concurrent merges never lose or double a row.

use karen_core::consent::ConsentChange;
use karen_core::enums::*;
use karen_core::merge::{MergeRequest, PreferenceOutcome};
use karen_core::model::*;
use karen_core::query::PageRequest;
use karen_core::{Karen, Store, StoreError};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

fn merge(duplicate_id: Uuid, dry_run: bool) -> MergeRequest {
    MergeRequest { duplicate_id, dry_run }
}

/// Every table's rows of a customer, as (table, count), to compare before and after.
async fn footprint<S: Store>(k: &Karen<S>, id: Uuid) -> Vec<(&'static str, usize)> {
    let data = k.customer_data(id).await.unwrap();
    vec![
        ("conversations", data.conversations.len()),
        ("attachments", data.attachments.len()),
        ("preferences", data.preferences.len()),
        ("history", data.preference_history.len()),
        ("consent", data.consent.len()),
    ]
}

/// Customer B merged into A: fields filled, summed and united; messages with their
/// attachments, preferences, history and consent moved; a conflicting preference resolved by
/// item 9 with the loser in A's history as `merged`; the stricter consent current. A dry run
/// reports the same and writes nothing. B then answers where it went, through later merges too.
pub async fn merge_moves_everything_and_resolves_conflicts<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let a = k
        .create(Customer {
            first_name: Some("Dana".into()),
            last_name: Some("Reyes".into()),
            tags: vec!["vip".into()],
            lifetime_value: dec("100.50"),
            total_jobs: 2,
            customer_since: chrono::NaiveDate::from_ymd_opt(2025, 3, 1),
            ..customer("dana@example.com")
        })
        .await
        .unwrap();
    let b = k
        .create(Customer {
            first_name: Some("D.".into()),
            last_name: None,
            company_name: Some("Reyes Rentals".into()),
            external_id: Some("crm-7".into()),
            primary_phone: Some("+17575550142".into()),
            tags: vec!["gutters".into(), "vip".into()],
            lifetime_value: dec("25.00"),
            total_jobs: 1,
            customer_since: chrono::NaiveDate::from_ymd_opt(2024, 8, 9),
            ..customer("dana.work@example.com")
        })
        .await
        .unwrap();
    let other = k.create(customer("eve@example.com")).await.unwrap();

    let general = PreferenceMedium::General;
    k.upsert_preference(preference(a.id, "preferred_channel", json!("sms"), general)).await.unwrap();
    let b_channel = k
        .upsert_preference(CustomerPreference {
            source: PreferenceSource::Explicit,
            confidence_score: dec("0.50"),
            ..preference(b.id, "preferred_channel", json!("email"), general)
        })
        .await
        .unwrap();
    let a_style = k.upsert_preference(preference(a.id, "formality_level", json!("casual"), general)).await.unwrap();
    let b_style = k
        .upsert_preference(CustomerPreference {
            confidence_score: dec("0.60"),
            ..preference(b.id, "formality_level", json!("formal"), general)
        })
        .await
        .unwrap();
    let days =
        k.upsert_preference(preference(b.id, "preferred_days", json!(["monday", "tuesday"]), general)).await.unwrap();
    k.upsert_preference(preference(b.id, "timezone", json!("America/Chicago"), general)).await.unwrap();
    k.upsert_preference(preference(b.id, "timezone", json!("America/New_York"), general)).await.unwrap();
    k.upsert_preference(preference(other.id, "preferred_channel", json!("voice"), general)).await.unwrap();

    // B texted STOP; A later asked for texts: the stricter status must stay current.
    let (stop, _) = k
        .record_message(Conversation {
            content: "STOP".into(),
            external_id: Some("SM-merge".into()),
            ..message(b.id, Medium::Sms, Direction::Inbound, now)
        })
        .await
        .unwrap();
    let mail = k.create(message(b.id, Medium::Email, Direction::Inbound, now)).await.unwrap();
    let file = k
        .create(ConversationAttachment { conversation_id: mail.id, file_name: "roof.jpg".into(), ..Default::default() })
        .await
        .unwrap();
    let own = k.create(message(a.id, Medium::Email, Direction::Outbound, now)).await.unwrap();
    ctx.clock.advance(chrono::Duration::seconds(1));
    k.change_consent(
        a.id,
        ConsentChange {
            channel: ConsentChannel::Sms,
            status: ConsentStatus::OptedIn,
            cause: None,
            conversation_id: None,
            note: None,
            recorded_by: None,
        },
    )
    .await
    .unwrap();
    ctx.clock.advance(chrono::Duration::seconds(1));
    let before_a = footprint(k, a.id).await;
    let before_b = footprint(k, b.id).await;
    let before_other = footprint(k, other.id).await;

    // A dry run reports and writes nothing.
    let dry = k.merge_customers(a.id, &merge(b.id, true)).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(footprint(k, a.id).await, before_a);
    assert_eq!(footprint(k, b.id).await, before_b);
    assert_eq!(k.get::<Customer>(a.id).await.unwrap().tags, vec!["vip".to_string()], "A unchanged");

    let report = k.merge_customers(a.id, &merge(b.id, false)).await.unwrap();
    assert!(!report.dry_run);
    assert_eq!(
        (&report.customer, &report.filled_fields, &report.tags_added),
        (&dry.customer, &dry.filled_fields, &dry.tags_added)
    );
    assert_eq!(report.moved, dry.moved);
    assert_eq!(report.filled_fields, vec!["external_id", "company_name", "secondary_email", "secondary_phone"]);
    assert_eq!(report.tags_added, vec!["gutters".to_string()]);
    let moved: Vec<(&str, u64)> = report.moved.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    assert_eq!(
        moved,
        vec![
            ("conversation_attachments", 1),
            ("conversations", 2),
            ("customer_consents", 1),
            ("customer_preference_history", 1),
            ("customer_preferences", 3),
        ]
    );
    let outcome = |key: &str| report.preferences.iter().find(|p| p.preference_key == key).map(|p| p.outcome);
    assert_eq!(outcome("preferred_channel"), Some(PreferenceOutcome::KeptDuplicate), "explicit beats learned");
    assert_eq!(outcome("formality_level"), Some(PreferenceOutcome::KeptCustomer), "equal source: higher confidence");
    assert_eq!(outcome("preferred_days"), Some(PreferenceOutcome::Moved));
    assert_eq!(report.consent_added.len(), 1);

    // The customer as stored.
    let merged = k.get::<Customer>(a.id).await.unwrap();
    assert_same(&merged, &report.customer);
    assert_eq!(merged.first_name.as_deref(), Some("Dana"), "A's own values stay");
    assert_eq!(merged.company_name.as_deref(), Some("Reyes Rentals"));
    assert_eq!(merged.secondary_email.as_deref(), Some("dana.work@example.com"));
    assert_eq!(merged.secondary_phone.as_deref(), Some("+17575550142"));
    assert_eq!(merged.tags, vec!["vip".to_string(), "gutters".to_string()]);
    assert_eq!((merged.lifetime_value, merged.total_jobs), (Decimal::new(12550, 2), 3));
    assert_eq!(merged.customer_since, chrono::NaiveDate::from_ymd_opt(2024, 8, 9));
    assert_eq!(merged.preferred_contact_method.as_deref(), Some("email"), "the summary follows the kept row");
    assert_eq!(merged.communication_style.as_deref(), Some("casual"));
    assert_eq!(k.store().customer_by_external_id("crm-7").await.unwrap().map(|c| c.id), Some(a.id));
    let by_phone: Vec<Uuid> =
        k.store().customers_by_phone("+17575550142").await.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(by_phone, vec![a.id]);
    // B's e-mail is free again as a primary e-mail: its marker or unique entry went with B.
    let reuse = k.create(customer("dana.work@example.com")).await.unwrap();
    k.delete::<Customer>(reuse.id).await.unwrap();

    // Rows: everything of B is A's now, nothing lost or doubled; others untouched.
    let sum: Vec<(&str, usize)> = before_a
        .iter()
        .zip(&before_b)
        .map(|((t, x), (_, y))| {
            (
                *t,
                if *t == "history" {
                    x + y + 2
                } else if *t == "preferences" {
                    x + y - 2
                } else if *t == "consent" {
                    x + y + 1
                } else {
                    x + y
                },
            )
        })
        .collect();
    assert_eq!(footprint(k, a.id).await, sum, "two keys shared, their losers archived, one consent row added");
    assert_eq!(footprint(k, other.id).await, before_other);
    let prefs = k.preferences(a.id, None).await.unwrap();
    let value =
        |key: &str| prefs.iter().find(|p| p.preference_key == key).map(|p| (p.id, p.preference_value["value"].clone()));
    assert_eq!(value("preferred_channel"), Some((b_channel.id, json!("email"))));
    assert_eq!(value("formality_level"), Some((a_style.id, json!("casual"))));
    assert_eq!(value("preferred_days").map(|v| v.0), Some(days.id));
    let history = k.preference_history(a.id, None, None).await.unwrap();
    let merged_rows: Vec<(String, Uuid)> = history
        .iter()
        .filter(|h| h.reason == HistoryReason::Merged)
        .map(|h| (h.preference_key.clone(), h.preference_id))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let a_channel_id = report.preferences.iter().find(|p| p.preference_key == "preferred_channel").unwrap();
    assert_eq!(
        merged_rows,
        vec![
            ("formality_level".to_string(), b_style.id),
            ("preferred_channel".to_string(), a_channel_id.dropped.as_ref().unwrap().preference_id),
        ]
    );
    assert!(history.iter().all(|h| h.customer_id == a.id));
    let thread = k.history(a.id, None, &PageRequest::first()).await.unwrap();
    let mut ids: Vec<Uuid> = thread.items.iter().map(|m| m.id).collect();
    ids.sort();
    let mut want = vec![stop.id, mail.id, own.id];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(k.get::<ConversationAttachment>(file.id).await.unwrap().conversation_id, mail.id);
    let consent = k.consent(a.id).await.unwrap();
    let sms = consent.channel(ConsentChannel::Sms);
    assert!(!sms.allowed(), "B's STOP outranks A's later opt-in");
    assert_eq!(sms.record.as_ref().map(|r| r.cause), Some(ConsentCause::Merge));
    let ledger = k.consent_ledger(a.id).await.unwrap();
    assert!(ledger.iter().any(|r| r.conversation_id == Some(stop.id) && r.keyword.as_deref() == Some("STOP")));
    let refused = k.create(message(a.id, Medium::Sms, Direction::Outbound, now)).await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");

    // B answers where it went; merging it again, into it, or into itself is refused.
    match k.get::<Customer>(b.id).await {
        Err(StoreError::Merged { id, into }) => assert_eq!((id, into), (b.id, a.id)),
        other => panic!("expected merged, got {other:?}"),
    }
    assert_conflict(k.merge_customers(a.id, &merge(b.id, false)).await, "already merged");
    assert_conflict(k.merge_customers(b.id, &merge(other.id, false)).await, &format!("merged into customer {}", a.id));
    assert_conflict(k.merge_customers(other.id, &merge(b.id, false)).await, &format!("merged into customer {}", a.id));
    assert_invalid(k.merge_customers(a.id, &merge(a.id, false)).await, "duplicate_id");
    assert_reference(k.merge_customers(a.id, &merge(Uuid::now_v7(), false)).await, "duplicate_id");
    assert_not_found(k.merge_customers(Uuid::now_v7(), &merge(a.id, false)).await);

    // A merged on into another: B follows; erasing where they went forgets both.
    let c = k.create(customer("carol@example.com")).await.unwrap();
    k.merge_customers(c.id, &merge(a.id, false)).await.unwrap();
    match k.get::<Customer>(b.id).await {
        Err(StoreError::Merged { into, .. }) => assert_eq!(into, c.id, "an earlier merge follows the later one"),
        other => panic!("expected merged, got {other:?}"),
    }
    assert_eq!(k.consent_ledger(c.id).await.unwrap().len(), ledger.len(), "the ledger moved again, whole");
    k.erase_customer(c.id).await.unwrap();
    assert_not_found(k.get::<Customer>(b.id).await);
    assert_not_found(k.get::<Customer>(a.id).await);
    assert_eq!(footprint(k, other.id).await, before_other);
}

/// Two merges of the same customers at once (B into A against A into B, and B into A
/// against B into C): one wins, the other is a conflict, and no row is lost or doubled.
pub async fn concurrent_merges_one_wins<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    for round in 0..2 {
        let a = k.create(customer(&format!("a{round}@example.com"))).await.unwrap();
        let b = k.create(customer(&format!("b{round}@example.com"))).await.unwrap();
        let c = k.create(customer(&format!("c{round}@example.com"))).await.unwrap();
        for (who, n) in [(a.id, 3), (b.id, 4), (c.id, 1)] {
            for _ in 0..n {
                k.create(message(who, Medium::Email, Direction::Inbound, now)).await.unwrap();
            }
            k.upsert_preference(preference(who, "preferred_channel", json!("email"), PreferenceMedium::General))
                .await
                .unwrap();
        }
        let (b_into_a, a_into_b) = (merge(b.id, false), merge(a.id, false));
        let (first, second) = if round == 0 {
            tokio::join!(k.merge_customers(a.id, &b_into_a), k.merge_customers(b.id, &a_into_b))
        } else {
            tokio::join!(k.merge_customers(a.id, &b_into_a), k.merge_customers(c.id, &b_into_a))
        };
        let (won, lost) = match (&first, &second) {
            (Ok(w), Err(StoreError::Conflict { .. })) => (w, &second),
            (Err(StoreError::Conflict { .. }), Ok(w)) => (w, &first),
            _ => panic!("round {round}: one merge wins and the other is a conflict: {first:?} / {second:?}"),
        };
        assert!(lost.is_err());
        let survivor = won.customer.id;
        let expected = if survivor == c.id { 5 } else { 7 };
        assert_eq!(footprint(k, survivor).await[0], ("conversations", expected), "round {round}");
        assert_eq!(footprint(k, survivor).await[2], ("preferences", 1));
        let gone = won.duplicate_id;
        assert!(matches!(k.get::<Customer>(gone).await, Err(StoreError::Merged { .. })));
        let mut total = 0;
        for id in [a.id, b.id, c.id].into_iter().filter(|id| *id != gone) {
            total += footprint(k, id).await[0].1;
        }
        assert_eq!(total, 8, "round {round}: every message is somewhere, once");
    }
}
