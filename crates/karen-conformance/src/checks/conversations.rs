//! Conversations and attachments: CRUD, idempotent ingest, history, threads, references and
//! analytics.

use std::collections::HashSet;

use chrono::Duration;
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::query::PageRequest;
use karen_core::{Store, Value};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

/// Messages keep every field, including Unicode and 1 MB of content.
pub async fn crud_unicode_and_large_content<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("m@example.com")).await.unwrap();
    let unit = "Leaky faucet — ça fuit! 水漏れ 🚰 ";
    let mut big = unit.repeat(1_000_000 / unit.len());
    while big.len() < 1_000_000 {
        big.push('x');
    }
    assert_eq!(big.len(), 1_000_000, "1 MB of content");
    let m = k
        .create(Conversation {
            conversation_thread_id: Some("thread_email_001".into()),
            external_id: Some("gmail_message_id_456".into()),
            subject: Some("Need help with leaky faucet — urgent ✨".into()),
            content: big.clone(),
            raw_content: Some(json!({"headers": {"from": "x"}, "body": "…"})),
            from_address: Some("customer@example.com".into()),
            to_address: Some("hello@757handy.com".into()),
            cc_addresses: vec!["a@example.com".into(), "b@example.com".into()],
            phone_number: Some("757 555 0100".into()),
            status: ConversationStatus::Processed,
            processing_stage: Some(ProcessingStage::Completed),
            nlp_analysis: Some(json!({"intent": "service_request", "confidence_score": 0.92})),
            intent: Some("service_request".into()),
            sentiment: Some(Sentiment::Neutral),
            priority: Some(MessagePriority::Normal),
            confidence_score: Some(dec("0.92")),
            entities: Some(json!([{"type": "location", "value": "kitchen"}])),
            keywords: vec!["faucet".into(), "leak".into()],
            topics: vec!["plumbing".into()],
            response_method: Some(ResponseMethod::Template),
            metadata: Some(json!({"processing_time_ms": 2500})),
            agent_id: Some("communication_agent".into()),
            session_id: Some("session_20250604_001".into()),
            ..message(c.id, Medium::Email, Direction::Inbound, k.now() - Duration::seconds(5))
        })
        .await
        .unwrap();
    assert_eq!(m.phone_number.as_deref(), Some("+17575550100"));
    assert_eq!(m.received_at, Some(k.now()), "received_at defaults to now");
    assert_eq!(m.content_type, "text/plain");
    let got: Conversation = k.get(m.id).await.unwrap();
    assert_eq!(got.content, big);
    // Larger content: stored where the backend has no limit, refused naming the field where it
    // has one (Firestore's 1 MiB documents).
    let bigger = message(c.id, Medium::Email, Direction::Inbound, k.now());
    let bigger = Conversation { content: "y".repeat(1_200_000), ..bigger };
    match k.store().max_content_bytes() {
        Some(limit) => {
            assert!((1_000_000..1_200_000).contains(&limit));
            assert_invalid(k.create(bigger).await, "content");
        }
        None => {
            let stored = k.create(bigger).await.unwrap();
            assert_eq!(k.get::<Conversation>(stored.id).await.unwrap().content.len(), 1_200_000);
            k.delete::<Conversation>(stored.id).await.unwrap();
        }
    }
    assert_same(&got, &m);
    let patch = json!({"status": "replied", "processed_at": "2026-06-01T12:00:01.123456Z"});
    let upd: Conversation = k.update(m.id, patch.as_object().unwrap()).await.unwrap();
    assert_eq!(upd.status, ConversationStatus::Replied);
    assert_eq!(upd.processed_at.unwrap().timestamp_subsec_micros(), 123_456, "microseconds are kept");
    k.delete::<Conversation>(m.id).await.unwrap();
    assert_not_found(k.get::<Conversation>(m.id).await);
}

/// A redelivered message (same medium and external_id) is returned unchanged, not stored twice;
/// a plain create of it is a conflict; the same external id on another medium is another message.
pub async fn redelivery_is_idempotent<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("i@example.com")).await.unwrap();
    let msg = Conversation {
        external_id: Some("twilio:SM123".into()),
        ..message(c.id, Medium::Sms, Direction::Inbound, k.now())
    };
    let (first, created) = k.record_message(msg.clone()).await.unwrap();
    assert!(created);
    ctx.clock.advance(Duration::seconds(30));
    let (again, created) =
        k.record_message(Conversation { content: "changed on redelivery".into(), ..msg.clone() }).await.unwrap();
    assert!(!created);
    assert_eq!(again, first, "the stored message is returned unchanged");
    assert_conflict(k.create(msg.clone()).await, "external_id");
    let (email, created) = k.record_message(Conversation { medium: Medium::Email, ..msg.clone() }).await.unwrap();
    assert!(created);
    assert_ne!(email.id, first.id);
    assert_eq!(k.conversation_by_external_id(Medium::Sms, "twilio:SM123").await.unwrap().id, first.id);
    assert_not_found(k.conversation_by_external_id(Medium::Voice, "twilio:SM123").await);
    let (no_ext1, _) = k.record_message(message(c.id, Medium::Sms, Direction::Inbound, k.now())).await.unwrap();
    let (no_ext2, created) = k.record_message(message(c.id, Medium::Sms, Direction::Inbound, k.now())).await.unwrap();
    assert!(created && no_ext1.id != no_ext2.id, "messages without external_id are always new");
    assert_eq!(all::<Conversation, S>(k, &[("customer_id", Value::Uuid(c.id))]).await.len(), 4);
}

/// Pattern 2: newest first by (message_timestamp, id), 50 a page by default, with a cursor that
/// neither skips nor repeats across equal timestamps; a medium filter; other customers unseen.
pub async fn history_pages_newest_first<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let c = k.create(customer("h@example.com")).await.unwrap();
    let other = k.create(customer("h2@example.com")).await.unwrap();
    let mut expected = Vec::new();
    for i in 0..120i64 {
        // Groups of three share a timestamp, so the id breaks ties.
        let at = now - Duration::minutes(i / 3);
        let medium = if i % 4 == 0 { Medium::Sms } else { Medium::Email };
        let m = k.create(message(c.id, medium, Direction::Inbound, at)).await.unwrap();
        expected.push(m);
    }
    k.create(message(other.id, Medium::Email, Direction::Inbound, now)).await.unwrap();
    let key = |m: &Conversation| (std::cmp::Reverse(m.message_timestamp), std::cmp::Reverse(m.id));
    let mut emails: Vec<&Conversation> = expected.iter().filter(|m| m.medium == Medium::Email).collect();
    emails.sort_by_key(|m| key(m));

    let first = k.history(c.id, Some(Medium::Email), &PageRequest::first()).await.unwrap();
    assert_eq!(first.items.len(), 50, "50 by default");
    let mut got: Vec<Uuid> = first.items.iter().map(|m| m.id).collect();
    let mut cursor = first.next_cursor.clone();
    while let Some(cur) = cursor {
        let p = k.history(c.id, Some(Medium::Email), &PageRequest::after(cur, 50)).await.unwrap();
        got.extend(p.items.iter().map(|m| m.id));
        cursor = p.next_cursor;
    }
    assert_eq!(got, emails.iter().map(|m| m.id).collect::<Vec<_>>());

    let mut every: Vec<&Conversation> = expected.iter().collect();
    every.sort_by_key(|m| key(m));
    let mut got = Vec::new();
    let mut page = PageRequest::of(7);
    loop {
        let p = k.history(c.id, None, &page).await.unwrap();
        got.extend(p.items.iter().map(|m| m.id));
        match p.next_cursor {
            Some(cur) => page = PageRequest::after(cur, 7),
            None => break,
        }
    }
    assert_eq!(got, every.iter().map(|m| m.id).collect::<Vec<_>>(), "all media, small pages across ties");
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 120);
    assert!(k.history(c.id, Some(Medium::Voice), &PageRequest::first()).await.unwrap().items.is_empty());
    assert_invalid(k.history(c.id, None, &PageRequest::after("nope", 5)).await, "cursor");
    // A customer that does not exist is not found, unlike one
    // without messages.
    assert_not_found(k.history(Uuid::now_v7(), None, &PageRequest::first()).await);
    assert_not_found(k.history(Uuid::now_v7(), Some(Medium::Sms), &PageRequest::first()).await);
}

/// The messages of a thread come oldest first, across media and directions.
pub async fn threads_oldest_first<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let c = k.create(customer("t@example.com")).await.unwrap();
    let mut ids = Vec::new();
    for (i, dir) in [Direction::Inbound, Direction::Outbound, Direction::Inbound].into_iter().enumerate() {
        let m = Conversation {
            conversation_thread_id: Some("thread-1".into()),
            ..message(c.id, Medium::Email, dir, now - Duration::minutes(10 - i as i64))
        };
        ids.push(k.create(m).await.unwrap().id);
    }
    k.create(Conversation {
        conversation_thread_id: Some("thread-2".into()),
        ..message(c.id, Medium::Sms, Direction::Inbound, now)
    })
    .await
    .unwrap();
    let got: Vec<Uuid> = k.thread("thread-1").await.unwrap().iter().map(|m| m.id).collect();
    assert_eq!(got, ids);
    assert!(k.thread("thread-none").await.unwrap().is_empty());
}

/// Message rules name their field; a message needs its customer and its response must exist.
pub async fn validation_and_references<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("v@example.com")).await.unwrap();
    let ok = message(c.id, Medium::Email, Direction::Inbound, k.now());
    assert_invalid(
        k.create(Conversation { confidence_score: Some(dec("1.5")), ..ok.clone() }).await,
        "confidence_score",
    );
    assert_invalid(k.create(Conversation { phone_number: Some("12345".into()), ..ok.clone() }).await, "phone_number");
    assert_invalid(k.create(Conversation { subject: Some("s".repeat(501)), ..ok.clone() }).await, "subject");
    // PostgreSQL would store this number and never read it back (a 309-digit integer).
    let huge = Conversation { metadata: Some(serde_json::json!({"n": [1, 1.7976931348623157e308]})), ..ok.clone() };
    assert_invalid(k.create(huge).await, "metadata.n[1]");
    assert_invalid(k.create(Conversation { external_id: Some("e".repeat(256)), ..ok.clone() }).await, "external_id");
    assert_invalid(k.create(Conversation { cc_addresses: vec!["".into()], ..ok.clone() }).await, "cc_addresses[0]");
    assert_invalid(k.create(Conversation { content_type: "".into(), ..ok.clone() }).await, "content_type");
    assert_invalid(
        k.create(Conversation { nlp_analysis: Some(json!(["intent"])), ..ok.clone() }).await,
        "nlp_analysis",
    );
    assert_reference(
        k.create(message(Uuid::now_v7(), Medium::Email, Direction::Inbound, k.now())).await,
        "customer_id",
    );
    assert_reference(k.create(Conversation { response_id: Some(Uuid::now_v7()), ..ok.clone() }).await, "response_id");
    let m = k.create(ok.clone()).await.unwrap();
    assert_invalid(
        k.update::<Conversation>(m.id, json!({"response_id": m.id}).as_object().unwrap()).await,
        "response_id",
    );
    assert_invalid(k.update::<Conversation>(m.id, json!({"medium": "fax"}).as_object().unwrap()).await, "medium");
    assert_invalid(k.update::<Conversation>(m.id, json!({"direction": null}).as_object().unwrap()).await, "direction");
    assert_eq!(all::<Conversation, S>(k, &[]).await, vec![m]);
}

/// The NLP results and the full analysis read back exactly as written, whichever keys the
/// analysis has (Firestore nests the results in its `nlp_analysis` map, docs/decisions.md K55),
/// and a listing filtered by intent finds the message.
pub async fn nlp_results_and_the_full_analysis<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("nlp@example.com")).await.unwrap();
    let base = message(c.id, Medium::Sms, Direction::Inbound, k.now());
    let results = Conversation {
        intent: Some("scheduling".into()),
        sentiment: Some(Sentiment::Positive),
        priority: Some(MessagePriority::High),
        confidence_score: Some(dec("0.75")),
        entities: Some(json!([{"type": "date", "value": "Tuesday"}])),
        keywords: vec!["tuesday".into()],
        topics: vec!["scheduling".into()],
        ..base.clone()
    };
    let cases = [
        // Results without an analysis, and an empty analysis: null and {} stay apart.
        Conversation { nlp_analysis: None, ..results.clone() },
        Conversation { nlp_analysis: Some(json!({})), ..results.clone() },
        // The analysis's own keys named like a result, equal to the result or not, beside others.
        Conversation {
            nlp_analysis: Some(json!({"intent": "reschedule", "sentiment": null, "model": "m-1",
                                      "scores": {"intent": 0.6}, "keywords": ["x"]})),
            ..results.clone()
        },
        // An analysis without results.
        Conversation { nlp_analysis: Some(json!({"model": "m-2"})), ..base.clone() },
        // Neither.
        base.clone(),
    ];
    let mut ids = Vec::new();
    for case in cases {
        let stored = k.create(case.clone()).await.unwrap();
        let got: Conversation = k.get(stored.id).await.unwrap();
        assert_eq!(got, stored, "read back as written");
        assert_eq!((got.nlp_analysis, got.intent), (case.nlp_analysis, case.intent));
        ids.push(stored.id);
    }
    // An update of one result leaves the analysis as it was.
    let changed = k.update::<Conversation>(ids[2], json!({"intent": "cancel"}).as_object().unwrap()).await.unwrap();
    let got: Conversation = k.get(ids[2]).await.unwrap();
    assert_eq!(got, changed);
    assert_eq!(got.intent.as_deref(), Some("cancel"));
    assert_eq!(got.nlp_analysis.as_ref().unwrap()["intent"], "reschedule");
    let by_intent = all::<Conversation, S>(k, &[("intent", Value::Text("scheduling".into()))]).await;
    let mut found: Vec<Uuid> = by_intent.iter().map(|m| m.id).collect();
    found.sort();
    let mut want = vec![ids[0], ids[1]];
    want.sort();
    assert_eq!(found, want, "the messages whose intent is scheduling");
}

/// Deleting a message clears the links to it (an inbound's response_id, a preference's
/// learned_from_interaction_id) and deletes its attachments, nothing more.
pub async fn deleting_a_message_unlinks_what_referred_to_it<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let c = k.create(customer("d@example.com")).await.unwrap();
    let reply = k.create(message(c.id, Medium::Email, Direction::Outbound, now)).await.unwrap();
    let inbound = k
        .create(Conversation {
            response_id: Some(reply.id),
            ..message(c.id, Medium::Email, Direction::Inbound, now - Duration::minutes(5))
        })
        .await
        .unwrap();
    let pref = k
        .create(CustomerPreference {
            learned_from_interaction_id: Some(reply.id),
            ..preference(c.id, "preferred_channel", json!("email"), PreferenceMedium::General)
        })
        .await
        .unwrap();
    let att = k
        .create(ConversationAttachment {
            conversation_id: reply.id,
            file_name: "quote.pdf".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    k.delete::<Conversation>(reply.id).await.unwrap();
    assert_eq!(k.get::<Conversation>(inbound.id).await.unwrap().response_id, None);
    assert_eq!(k.get::<CustomerPreference>(pref.id).await.unwrap().learned_from_interaction_id, None);
    assert_not_found(k.get::<ConversationAttachment>(att.id).await);
    assert!(k.get::<Customer>(c.id).await.is_ok());
}

/// Attachments: fields, checksum form, size and reference rules, listing by message.
pub async fn attachments<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = k.create(customer("att@example.com")).await.unwrap();
    let m = k.create(message(c.id, Medium::Email, Direction::Inbound, k.now())).await.unwrap();
    let sum = format!("sha256:{}", "ab".repeat(32));
    let a = k
        .create(ConversationAttachment {
            conversation_id: m.id,
            file_name: "kitchen_faucet.jpg".into(),
            file_type: Some("image/jpeg".into()),
            file_size: Some(1_024_576),
            storage_path: Some("gs://karen-attachments/2025/06/04/kitchen_faucet.jpg".into()),
            content_id: Some("image001".into()),
            checksum: Some(sum.clone()),
            virus_scan_status: VirusScanStatus::Clean,
            virus_scan_result: Some(json!({"engine": "clamav", "result": "clean"})),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(a.created_at, k.now());
    assert_same(&k.get::<ConversationAttachment>(a.id).await.unwrap(), &a);
    let ok = ConversationAttachment { conversation_id: m.id, file_name: "x.txt".into(), ..Default::default() };
    assert_invalid(k.create(ConversationAttachment { file_name: " ".into(), ..ok.clone() }).await, "file_name");
    assert_invalid(k.create(ConversationAttachment { file_size: Some(-1), ..ok.clone() }).await, "file_size");
    for bad in ["abc", "sha256:ABAB", &format!("sha256:{}", "AB".repeat(32)), &format!("md5:{}", "ab".repeat(32))] {
        assert_invalid(
            k.create(ConversationAttachment { checksum: Some(bad.to_string()), ..ok.clone() }).await,
            "checksum",
        );
    }
    assert_reference(
        k.create(ConversationAttachment { conversation_id: Uuid::now_v7(), ..ok.clone() }).await,
        "conversation_id",
    );
    let b = k.create(ok.clone()).await.unwrap();
    let listed = all::<ConversationAttachment, S>(k, &[("conversation_id", Value::Uuid(m.id))]).await;
    assert_eq!(listed.iter().map(|x| x.id).collect::<Vec<_>>(), vec![a.id, b.id]);
    let upd: ConversationAttachment =
        k.update(b.id, json!({"virus_scan_status": "infected"}).as_object().unwrap()).await.unwrap();
    assert_eq!(upd.virus_scan_status, VirusScanStatus::Infected);
    assert_invalid(
        k.update::<ConversationAttachment>(b.id, json!({"virus_scan_status": "maybe"}).as_object().unwrap()).await,
        "virus_scan_status",
    );
}

/// Pattern 4 with decisions.md item 8: per medium over [now - days, now], counts, the inbound
/// share, the response rate and first-response times.
pub async fn analytics_per_medium<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = k.now();
    let c = k.create(customer("a@example.com")).await.unwrap();
    let other = k.create(customer("b@example.com")).await.unwrap();
    // Email: 3 inbound (2 answered after 60 s and 180 s), 2 outbound; one inbound exactly at the window edge.
    let mut replies = Vec::new();
    for (delay, at) in [(60, now - Duration::hours(2)), (180, now - Duration::hours(1))] {
        let r =
            k.create(message(c.id, Medium::Email, Direction::Outbound, at + Duration::seconds(delay))).await.unwrap();
        k.create(Conversation { response_id: Some(r.id), ..message(c.id, Medium::Email, Direction::Inbound, at) })
            .await
            .unwrap();
        replies.push(r);
    }
    k.create(message(c.id, Medium::Email, Direction::Inbound, now - Duration::days(30))).await.unwrap();
    // SMS: 1 outbound only. Voice: older than the window. Other customer: ignored.
    k.create(message(c.id, Medium::Sms, Direction::Outbound, now - Duration::days(3))).await.unwrap();
    k.create(message(c.id, Medium::Voice, Direction::Inbound, now - Duration::days(30) - Duration::microseconds(1)))
        .await
        .unwrap();
    k.create(message(other.id, Medium::Email, Direction::Inbound, now)).await.unwrap();

    let stats = k.analytics(c.id, 30).await.unwrap();
    assert_eq!(stats.iter().map(|s| s.medium).collect::<Vec<_>>(), vec![Medium::Email, Medium::Sms]);
    let email = &stats[0];
    assert_eq!((email.message_count, email.inbound_count, email.outbound_count), (5, 3, 2));
    assert_eq!(email.inbound_share, 0.6);
    assert_eq!(email.response_rate, Some(2.0 / 3.0));
    assert_eq!(email.median_first_response_seconds, Some(120.0));
    assert_eq!(email.mean_first_response_seconds, Some(120.0));
    let sms = &stats[1];
    assert_eq!((sms.message_count, sms.inbound_count, sms.inbound_share), (1, 0, 0.0));
    assert_eq!((sms.response_rate, sms.median_first_response_seconds), (None, None));
    assert!(k.analytics(c.id, 1).await.unwrap().iter().all(|s| s.medium == Medium::Email));
    assert_invalid(k.analytics(c.id, 0).await, "days");
    assert_not_found(k.analytics(Uuid::now_v7(), 30).await);
    let quiet = k.create(customer("quiet@example.com")).await.unwrap();
    assert!(k.analytics(quiet.id, 30).await.unwrap().is_empty(), "a customer without messages has empty analytics");
}

/// A customer's rows cite only that customer's messages: a reply to another customer's
/// message, or a preference (or observation) learned from one, is refused naming the field,
/// on create, update, ingest, upsert and observation alike, and nothing is written.
pub async fn references_stay_within_the_customer<S: Store>(ctx: Ctx<S>) {
    use karen_core::preferences::learn::Observation;
    let k = &ctx.karen;
    let a = k.create(customer("a@example.com")).await.unwrap();
    let b = k.create(customer("b@example.com")).await.unwrap();
    let of_a = k.create(message(a.id, Medium::Sms, Direction::Inbound, k.now())).await.unwrap();
    let of_b = k.create(message(b.id, Medium::Sms, Direction::Inbound, k.now())).await.unwrap();
    let reply = |to: Uuid| Conversation {
        direction: Direction::Outbound,
        response_id: Some(to),
        ..message(a.id, Medium::Sms, Direction::Outbound, k.now())
    };
    assert_invalid(k.create(reply(of_b.id)).await, "response_id");
    assert_invalid(
        k.record_message(Conversation { external_id: Some("x-1".into()), ..reply(of_b.id) }).await,
        "response_id",
    );
    let own = k.create(reply(of_a.id)).await.unwrap();
    assert_invalid(
        k.update::<Conversation>(own.id, json!({"response_id": of_b.id}).as_object().unwrap()).await,
        "response_id",
    );
    assert_eq!(k.get::<Conversation>(own.id).await.unwrap().response_id, Some(of_a.id), "unchanged");

    let learned = |from: Uuid| CustomerPreference {
        learned_from_interaction_id: Some(from),
        ..preference(a.id, "preferred_channel", json!("sms"), PreferenceMedium::General)
    };
    assert_invalid(k.create(learned(of_b.id)).await, "learned_from_interaction_id");
    assert_invalid(k.upsert_preference(learned(of_b.id)).await, "learned_from_interaction_id");
    let p = k.create(learned(of_a.id)).await.unwrap();
    assert_invalid(
        k.update::<CustomerPreference>(p.id, json!({"learned_from_interaction_id": of_b.id}).as_object().unwrap())
            .await,
        "learned_from_interaction_id",
    );
    let observation = |from: Uuid| Observation {
        customer_id: a.id,
        preference_type: PreferenceType::CommunicationStyle,
        preference_key: "detail_level".into(),
        medium: PreferenceMedium::General,
        value: json!("brief"),
        metadata: None,
        source: PreferenceSource::Learned,
        confidence: dec("0.7"),
        conversation_id: Some(from),
        expires_at: None,
    };
    assert_invalid(k.observe(observation(of_b.id)).await, "conversation_id");
    assert_reference(k.observe(observation(Uuid::now_v7())).await, "conversation_id");
    assert!(k.observe(observation(of_a.id)).await.unwrap().preference.is_some(), "its own message is fine");
    let b_rows = k.list::<CustomerPreference>(&[("customer_id", Value::Uuid(b.id))], &PageRequest::first()).await;
    assert!(b_rows.unwrap().items.is_empty(), "nothing was written to the other customer");
}
