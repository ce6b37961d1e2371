//! Reply context (decisions.md item 28): every part in one call, by message id and by the
//! external id of the message just received.

use chrono::Duration;
use karen_core::context::ContextRequest;
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::Store;
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

/// The context of a message holds the customer, preferences for its medium, consent, the
/// plan, its thread (the customer's messages only), the newest messages overall and per
/// medium, analytics, and the services its words match, quoted.
pub async fn reply_context_gathers_every_part<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = ctx.karen.now();
    let c = k.create(customer("dana@example.com")).await.unwrap();
    let stranger = k.create(customer("eve@example.com")).await.unwrap();
    k.create(preference(c.id, "preferred_channel", json!("email"), PreferenceMedium::General)).await.unwrap();
    k.create(preference(c.id, "preferred_channel", json!("voice"), PreferenceMedium::Sms)).await.unwrap();
    k.create(CustomerPreference {
        preference_key: "avoid_channels".into(),
        ..preference(c.id, "preferred_channel", json!(["voice"]), PreferenceMedium::General)
    })
    .await
    .unwrap();

    let cat = k.create(category("Plumbing", None)).await.unwrap();
    let faucet = k
        .create(Service {
            pricing_model: PricingModel::Fixed,
            base_price: Some(dec("89.50")),
            ..service(cat.id, "Faucet Repair", &["faucet", "leak"])
        })
        .await
        .unwrap();
    let heater = k.create(service(cat.id, "Water Heater Flush", &["water heater", "kitchen"])).await.unwrap();
    k.create(service(cat.id, "Roof Patch", &["roof"])).await.unwrap();

    let at = |mins: i64| now - Duration::minutes(mins);
    let thread = Some("t-dana-1".to_string());
    let first = k
        .create(Conversation {
            conversation_thread_id: thread.clone(),
            ..message(c.id, Medium::Email, Direction::Inbound, at(300))
        })
        .await
        .unwrap();
    let reply = k
        .create(Conversation {
            conversation_thread_id: thread.clone(),
            content: "We can come Tuesday.".into(),
            ..message(c.id, Medium::Email, Direction::Outbound, at(200))
        })
        .await
        .unwrap();
    // Another customer's message that carries the same thread id is not Dana's thread.
    k.create(Conversation {
        conversation_thread_id: thread.clone(),
        ..message(stranger.id, Medium::Email, Direction::Inbound, at(150))
    })
    .await
    .unwrap();
    let voice = k.create(message(c.id, Medium::Voice, Direction::Inbound, at(100))).await.unwrap();
    let sms = k
        .create(Conversation {
            conversation_thread_id: thread.clone(),
            external_id: Some("SM-dana-1".into()),
            content: "The faucet still leaks and the kitchen floor is wet!".into(),
            priority: Some(MessagePriority::Urgent),
            ..message(c.id, Medium::Sms, Direction::Inbound, at(10))
        })
        .await
        .unwrap();

    let got =
        k.reply_context(ContextRequest { customer_id: c.id, conversation_id: Some(sms.id), history: 3 }).await.unwrap();
    assert_eq!(got.customer.id, c.id);
    assert_eq!(got.message.as_ref().map(|m| m.id), Some(sms.id));
    let pc = got.preferences.iter().find(|p| p.preference_key == "preferred_channel").unwrap();
    assert_eq!(pc.value, json!("voice"), "the sms message gets the sms-specific value");
    let consent: Vec<(Medium, bool)> = got.consent.iter().map(|x| (x.channel, x.allowed)).collect();
    assert_eq!(consent, vec![(Medium::Sms, true), (Medium::Email, true), (Medium::Voice, false)]);
    assert_eq!(
        got.contact_plan.channels,
        vec![Medium::Email, Medium::Sms],
        "general preferences: email first, voice avoided"
    );
    let ids = |v: &[Conversation]| v.iter().map(|m| m.id).collect::<Vec<Uuid>>();
    assert_eq!(ids(&got.thread), vec![first.id, reply.id, sms.id], "oldest first, the customer's own only");
    assert_eq!(ids(&got.history), vec![sms.id, voice.id, reply.id], "newest first, at most `history`");
    let latest: Vec<(Medium, Uuid)> = got.latest_by_medium.iter().map(|m| (m.medium, m.id)).collect();
    assert_eq!(latest, vec![(Medium::Email, reply.id), (Medium::Sms, sms.id), (Medium::Voice, voice.id)]);
    let media: Vec<(Medium, i64)> = got.analytics.iter().map(|s| (s.medium, s.message_count)).collect();
    assert_eq!(media, vec![(Medium::Email, 2), (Medium::Sms, 1), (Medium::Voice, 1)]);
    let services: Vec<(Uuid, Vec<String>)> =
        got.services.iter().map(|s| (s.service.service.id, s.matched_terms.clone())).collect();
    assert_eq!(
        services,
        vec![(faucet.id, vec!["faucet".to_string()]), (heater.id, vec!["kitchen".to_string()])],
        "the message's words, most shared first"
    );
    assert_eq!(got.services[0].quote.as_ref().map(|q| q.total), Some(dec("89.50")));
    assert!(
        got.services[1].quote.is_none() && got.services[1].quote_error.is_some(),
        "a tiered service without tiers says why"
    );

    let by_message = k.reply_context_by_message(Medium::Sms, "SM-dana-1", 3).await.unwrap();
    assert_eq!(by_message, got, "the same document by the external id of the message");

    // NLP keywords, when present, are what services are matched by.
    let tagged = k
        .create(Conversation {
            keywords: vec!["water heater".into()],
            content: "faucet faucet faucet".into(),
            ..message(c.id, Medium::Email, Direction::Inbound, at(5))
        })
        .await
        .unwrap();
    let got = k
        .reply_context(ContextRequest { customer_id: c.id, conversation_id: Some(tagged.id), history: 10 })
        .await
        .unwrap();
    assert_eq!(got.services.iter().map(|s| s.service.service.id).collect::<Vec<_>>(), vec![heater.id]);
    assert_eq!(got.thread.len(), 1, "a message without a thread is its own thread");
    assert_eq!(got.history.len(), 5);

    let bare = k.reply_context(ContextRequest { customer_id: c.id, conversation_id: None, history: 1 }).await.unwrap();
    assert!(bare.message.is_none() && bare.thread.is_empty() && bare.services.is_empty());
    assert_eq!(ids(&bare.history), vec![tagged.id]);
    let pc = bare.preferences.iter().find(|p| p.preference_key == "preferred_channel").unwrap();
    assert_eq!(pc.value, json!("email"), "without a message: general preferences");
}

/// Bad requests name their field; a missing customer or message is not found.
pub async fn reply_context_refusals<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let now = ctx.karen.now();
    let c = k.create(customer("dana@example.com")).await.unwrap();
    let other = k.create(customer("eve@example.com")).await.unwrap();
    let theirs = k.create(message(other.id, Medium::Email, Direction::Inbound, now)).await.unwrap();
    let req = |conversation_id, history| ContextRequest { customer_id: c.id, conversation_id, history };
    assert_invalid(k.reply_context(req(None, 0)).await, "history");
    assert_invalid(k.reply_context(req(None, 51)).await, "history");
    assert_invalid(k.reply_context(req(Some(theirs.id), 10)).await, "conversation_id");
    assert_not_found(k.reply_context(req(Some(Uuid::now_v7()), 10)).await);
    assert_not_found(
        k.reply_context(ContextRequest { customer_id: Uuid::now_v7(), conversation_id: None, history: 10 }).await,
    );
    assert_not_found(k.reply_context_by_message(Medium::Sms, "nope", 10).await);
    assert_invalid(k.reply_context_by_message(Medium::Sms, "nope", 0).await, "history");
    let empty = k.reply_context(req(None, 10)).await.unwrap();
    assert!(empty.history.is_empty() && empty.latest_by_medium.is_empty() && empty.analytics.is_empty());
}
