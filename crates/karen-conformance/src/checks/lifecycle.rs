//! The customer lifecycle (issue 19). Consent (decisions.md item 24): the ledger, SMS keywords
//! in the message's transaction, outbound refusals, the contact plan, erasure with the
//! customer; a customer's own data; duplicate candidates.

use chrono::Duration;
use karen_core::consent::ConsentChange;
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::preferences::plan::Urgency;
use karen_core::{Store, StoreError};
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

fn sms(
    customer_id: Uuid,
    direction: Direction,
    body: &str,
    external_id: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Conversation {
    Conversation {
        content: body.into(),
        external_id: Some(external_id.into()),
        ..message(customer_id, Medium::Sms, direction, at)
    }
}

/// STOP in any case and with punctuation opts out of SMS in the message's own write; a
/// keyword inside a longer message, HELP, or a repeated STOP changes nothing; START opts back
/// in; every route that records a message applies it; the ledger is never edited.
pub async fn sms_keywords_change_consent<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let c = k.create(customer("dana@example.com")).await.unwrap();
    let state = k.consent(c.id).await.unwrap();
    assert!(state.channels.iter().all(|s| s.allowed() && s.record.is_none()), "no row: every channel open");

    let (m, created) =
        k.record_message(sms(c.id, Direction::Inbound, "please stop texting on sundays", "SM1", now)).await.unwrap();
    assert!(created);
    assert!(k.consent_ledger(c.id).await.unwrap().is_empty(), "a keyword inside a longer message is not one");
    k.record_message(sms(c.id, Direction::Inbound, "HELP", "SM2", now)).await.unwrap();
    assert!(k.consent_ledger(c.id).await.unwrap().is_empty(), "HELP records nothing");

    let (stop, _) = k.record_message(sms(c.id, Direction::Inbound, " Stop. ", "SM3", now)).await.unwrap();
    let ledger = k.consent_ledger(c.id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    let row = &ledger[0];
    assert_eq!(
        (row.channel, row.status, row.cause, row.keyword.as_deref(), row.conversation_id),
        (ConsentChannel::Sms, ConsentStatus::OptedOut, ConsentCause::Keyword, Some("STOP"), Some(stop.id))
    );
    let state = k.consent(c.id).await.unwrap();
    assert!(!state.channel(ConsentChannel::Sms).allowed());
    assert!(state.channel(ConsentChannel::Email).allowed(), "only sms is closed");

    // A redelivery of the STOP and a second STOP write no second row.
    let (again, created) = k.record_message(sms(c.id, Direction::Inbound, " Stop. ", "SM3", now)).await.unwrap();
    assert_eq!((again.id, created), (stop.id, false));
    k.create(sms(c.id, Direction::Inbound, "STOPALL", "SM4", now)).await.unwrap();
    assert_eq!(k.consent_ledger(c.id).await.unwrap().len(), 1, "already opted out: no change to record");

    // Outbound SMS is refused by every route, naming the row; e-mail still goes.
    let refused = k.record_message(sms(c.id, Direction::Outbound, "We can come Tuesday", "SM5", now)).await;
    match refused {
        Err(StoreError::Conflict { rule, .. }) => {
            assert!(rule.contains(&row.id.to_string()) && rule.contains("STOP"), "{rule}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let refused =
        k.create(Conversation { external_id: None, ..sms(c.id, Direction::Outbound, "hello", "x", now) }).await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
    k.create(message(c.id, Medium::Email, Direction::Outbound, now)).await.unwrap();
    let history = k.history(c.id, Some(Medium::Sms), &karen_core::query::PageRequest::first()).await.unwrap();
    assert!(history.items.iter().all(|m| m.direction == Direction::Inbound), "nothing outbound was stored");

    // The contact plan never offers the closed channel, urgent or not.
    for urgency in [Urgency::Normal, Urgency::Urgent] {
        let plan = k.contact_plan(c.id, None, urgency).await.unwrap();
        assert!(!plan.channels.contains(&Medium::Sms), "{plan:?}");
        assert_ne!(plan.channel_now, Some(Medium::Sms));
        assert!(plan.reasons.iter().any(|r| r.contains("opted out of sms")), "{:?}", plan.reasons);
    }

    let (start, _) =
        k.record_message(sms(c.id, Direction::Inbound, "start", "SM6", now + Duration::seconds(1))).await.unwrap();
    let state = k.consent(c.id).await.unwrap();
    let sms_state = state.channel(ConsentChannel::Sms);
    assert!(sms_state.allowed());
    assert_eq!(sms_state.record.as_ref().and_then(|r| r.conversation_id), Some(start.id));
    k.record_message(sms(c.id, Direction::Outbound, "Welcome back", "SM7", now)).await.unwrap();
    assert!(k.contact_plan(c.id, None, Urgency::Normal).await.unwrap().channels.contains(&Medium::Sms));
    assert!(m.id != start.id);

    // The ledger is never edited or deleted alone.
    let first = k.consent_ledger(c.id).await.unwrap()[0].clone();
    let patch = serde_json::json!({"status": "opted_in"}).as_object().unwrap().clone();
    assert_invalid(k.update::<ConsentRecord>(first.id, &patch).await, "consent");
    assert_invalid(k.delete::<ConsentRecord>(first.id).await, "consent");
    assert_invalid(k.create(ConsentRecord { customer_id: c.id, ..Default::default() }).await, "consent");
    assert_eq!(k.get::<ConsentRecord>(first.id).await.unwrap(), first);
}

/// Explicit changes through the API: new rows naming their cause, checked references, the
/// customer's own message, not found for a missing customer; erased with the customer and
/// only with them; a deleted message leaves the row with no message.
pub async fn explicit_changes_and_erasure<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let c = k.create(customer("dana@example.com")).await.unwrap();
    let other = k.create(customer("eve@example.com")).await.unwrap();
    let asked = k.create(message(c.id, Medium::Email, Direction::Inbound, now)).await.unwrap();
    let theirs = k.create(message(other.id, Medium::Email, Direction::Inbound, now)).await.unwrap();
    let change = |channel, status, conversation_id| ConsentChange {
        channel,
        status,
        cause: None,
        conversation_id,
        note: Some("asked by e-mail".into()),
        recorded_by: None,
    };
    let row =
        k.change_consent(c.id, change(ConsentChannel::Email, ConsentStatus::OptedOut, Some(asked.id))).await.unwrap();
    assert_eq!((row.cause, row.recorded_by.as_str(), row.recorded_at), (ConsentCause::Request, "api", now));
    assert!(!k.consent(c.id).await.unwrap().channel(ConsentChannel::Email).allowed());
    let refused = k.create(message(c.id, Medium::Email, Direction::Outbound, now)).await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
    let plan = k.contact_plan(c.id, None, Urgency::Urgent).await.unwrap();
    assert_eq!(plan.channels, vec![Medium::Sms, Medium::Voice]);

    assert_invalid(
        k.change_consent(c.id, change(ConsentChannel::Sms, ConsentStatus::OptedOut, Some(theirs.id))).await,
        "conversation_id",
    );
    assert_reference(
        k.change_consent(c.id, change(ConsentChannel::Sms, ConsentStatus::OptedOut, Some(Uuid::now_v7()))).await,
        "conversation_id",
    );
    assert_not_found(
        k.change_consent(Uuid::now_v7(), change(ConsentChannel::Sms, ConsentStatus::OptedOut, None)).await,
    );
    assert_not_found(k.consent(Uuid::now_v7()).await);
    assert_invalid(
        k.change_consent(
            c.id,
            ConsentChange {
                cause: Some(ConsentCause::Keyword),
                ..change(ConsentChannel::Sms, ConsentStatus::OptedOut, None)
            },
        )
        .await,
        "cause",
    );
    assert_invalid(
        k.change_consent(
            c.id,
            ConsentChange { note: Some("n".repeat(501)), ..change(ConsentChannel::Sms, ConsentStatus::OptedOut, None) },
        )
        .await,
        "note",
    );
    k.change_consent(other.id, change(ConsentChannel::Voice, ConsentStatus::OptedOut, Some(theirs.id))).await.unwrap();

    k.delete::<Conversation>(asked.id).await.unwrap();
    let kept = k.get::<ConsentRecord>(row.id).await.unwrap();
    assert_eq!((kept.conversation_id, kept.status), (None, ConsentStatus::OptedOut), "the row stays, its message gone");

    k.delete::<Customer>(c.id).await.unwrap();
    assert_not_found(k.get::<ConsentRecord>(row.id).await);
    assert_eq!(k.consent_ledger(c.id).await.unwrap(), vec![]);
    assert_eq!(k.consent_ledger(other.id).await.unwrap().len(), 1, "another customer's ledger is untouched");
}

/// A customer's own data holds every row of theirs (preferences and their history, the consent
/// ledger, messages, attachments' metadata with links) and nothing of anyone else's.
pub async fn customer_data_holds_everything_of_theirs<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let c = k.create(customer("dana@example.com")).await.unwrap();
    let other = k.create(customer("eve@example.com")).await.unwrap();
    let pref = preference(c.id, "preferred_channel", serde_json::json!("email"), PreferenceMedium::General);
    k.upsert_preference(pref.clone()).await.unwrap();
    k.upsert_preference(CustomerPreference { preference_value: serde_json::json!({"value": "sms"}), ..pref })
        .await
        .unwrap();
    k.create(preference(other.id, "preferred_channel", serde_json::json!("voice"), PreferenceMedium::General))
        .await
        .unwrap();
    let (stop, _) = k.record_message(sms(c.id, Direction::Inbound, "STOP", "SM-d", now)).await.unwrap();
    let mail = k.create(message(c.id, Medium::Email, Direction::Inbound, now)).await.unwrap();
    let theirs = k.create(message(other.id, Medium::Email, Direction::Inbound, now)).await.unwrap();
    let file = k
        .create(ConversationAttachment {
            conversation_id: mail.id,
            file_name: "photo.jpg".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    k.create(ConversationAttachment { conversation_id: theirs.id, file_name: "x.pdf".into(), ..Default::default() })
        .await
        .unwrap();

    let data = k.customer_data(c.id).await.unwrap();
    assert_eq!((data.customer.id, data.exported_at), (c.id, now));
    assert_eq!(data.preferences.len(), 1);
    assert_eq!(data.preference_history.len(), 1, "the superseded value");
    assert!(data.preference_history.iter().all(|h| h.customer_id == c.id));
    assert_eq!(data.consent.iter().map(|r| r.conversation_id).collect::<Vec<_>>(), vec![Some(stop.id)]);
    let mut ids: Vec<Uuid> = data.conversations.iter().map(|m| m.id).collect();
    ids.sort();
    let mut want = vec![stop.id, mail.id];
    want.sort();
    assert_eq!(ids, want, "their messages only");
    assert_eq!(data.attachments.len(), 1);
    assert_eq!(data.attachments[0].attachment.id, file.id);
    assert_eq!(data.attachments[0].link, format!("/v1/attachments/{}", file.id));
    assert_not_found(k.customer_data(Uuid::now_v7()).await);

    // Erasure says what it removed, and removes nothing of anyone else's.
    let report = k.erase_customer(c.id).await.unwrap();
    let rows: Vec<(&str, u64)> = report.rows.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    assert_eq!(
        rows,
        vec![
            ("conversation_attachments", 1),
            ("conversations", 2),
            ("customer_consents", 1),
            ("customer_preference_history", 1),
            ("customer_preferences", 1),
            ("customers", 1),
        ]
    );
    assert_eq!((report.customer_id, report.blobs_removed), (c.id, 0));
    assert_not_found(k.get::<Customer>(c.id).await);
    assert_not_found(k.get::<ConversationAttachment>(file.id).await);
    assert_not_found(k.erase_customer(c.id).await);
    let left = k.customer_data(other.id).await.unwrap();
    assert_eq!((left.preferences.len(), left.conversations.len(), left.attachments.len()), (1, 1, 1));
}

/// Duplicate candidates: customers sharing an e-mail (any case) or phone across primary and
/// secondary fields, or the same name and service address, each pair once with every reason.
pub async fn duplicate_candidates_name_their_reasons<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let mk = |email: Option<&str>, phone: Option<&str>| Customer {
        first_name: Some("Dana".into()),
        last_name: Some("Whitfield".into()),
        primary_email: email.map(Into::into),
        primary_phone: phone.map(Into::into),
        ..Default::default()
    };
    let a = k.create(mk(Some("dana@example.com"), None)).await.unwrap();
    let b = k
        .create(Customer { secondary_email: Some("DANA@example.com".into()), ..mk(None, Some("757-555-0142")) })
        .await
        .unwrap();
    let c = k.create(Customer { secondary_phone: Some("+17575550142".into()), ..mk(None, None) }).await.unwrap();
    let address = serde_json::json!({"street": "1 Ocean Ave", "city": "Virginia Beach"});
    let d = k.create(Customer { service_address: Some(address.clone()), ..mk(None, None) }).await.unwrap();
    let e = k.create(Customer { service_address: Some(address), ..mk(Some("other@example.com"), None) }).await.unwrap();
    k.create(mk(Some("unrelated@example.com"), Some("+17575550199"))).await.unwrap();

    let page = k.duplicate_candidates(&karen_core::query::PageRequest::first()).await.unwrap();
    let got: Vec<(Uuid, Uuid, Vec<String>)> = page.items.iter().map(|p| (p.a.id, p.b.id, p.reasons.clone())).collect();
    assert_eq!(
        got,
        vec![
            (a.id, b.id, vec!["a.primary_email = b.secondary_email (dana@example.com)".to_string()]),
            (b.id, c.id, vec!["a.primary_phone = b.secondary_phone (+17575550142)".to_string()]),
            (d.id, e.id, vec!["the same name and service_address".to_string()]),
        ]
    );
    let first = k.duplicate_candidates(&karen_core::query::PageRequest::of(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let rest =
        k.duplicate_candidates(&karen_core::query::PageRequest::after(first.next_cursor.unwrap(), 2)).await.unwrap();
    assert_eq!(rest.items.iter().map(|p| p.a.id).collect::<Vec<_>>(), vec![d.id]);
    assert!(rest.next_cursor.is_none());
    assert_invalid(k.duplicate_candidates(&karen_core::query::PageRequest::after("nope", 2)).await, "cursor");
}
