//! Change events (decisions.md item 27, docs/decisions.md K53): every write to customers,
//! preferences, consent, conversations and attachments appends its event in the same
//! transaction; the feed pages in commit order, filters, waits, prunes; and a reader that
//! follows the cursor while 16 writers run sees every event exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use karen_core::consent::ConsentChange;
use karen_core::enums::*;
use karen_core::events::{Event, EventQuery, MAX_EVENT_LIMIT};
use karen_core::karen::EventFeed;
use karen_core::model::*;
use karen_core::{Clock, Store, StoreError};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

/// Every event the store holds after position `after`, read straight from the store.
async fn all_after<S: Store>(store: &S, after: i64) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    let mut at = after;
    loop {
        let page = store.events(&EventQuery { after: at, limit: MAX_EVENT_LIMIT, ..Default::default() }).await.unwrap();
        let Some(last) = page.last() else { return out };
        at = last.position;
        out.extend(page);
    }
}

fn seen(events: &[Event]) -> Vec<(EventType, Uuid, Option<Uuid>)> {
    events.iter().map(|e| (e.event_type, e.entity_id, e.customer_id)).collect()
}

/// One write of each kind, each with the event it must make, in order; a customer erased
/// with their message makes one `customer.deleted`; the feed pages, filters, waits and
/// refuses what is not a request of it; pruning removes old events and positions go on.
pub async fn every_write_appends_its_event<S: Store>(ctx: Ctx<S>) {
    use EventType::*;
    let karen = &ctx.karen;
    let c = karen.create(customer("events@example.com")).await.unwrap();
    karen.update::<Customer>(c.id, json!({"first_name": "Dana"}).as_object().unwrap()).await.unwrap();
    let pref =
        karen.upsert_preference(preference(c.id, "language", json!("en"), PreferenceMedium::General)).await.unwrap();
    karen.upsert_preference(preference(c.id, "language", json!("es"), PreferenceMedium::General)).await.unwrap();
    let m = karen.create(message(c.id, Medium::Email, Direction::Inbound, ctx.clock.now())).await.unwrap();
    let a = karen
        .create(ConversationAttachment { conversation_id: m.id, file_name: "photo.jpg".into(), ..Default::default() })
        .await
        .unwrap();
    karen.update::<Conversation>(m.id, json!({"subject": "Leaky faucet"}).as_object().unwrap()).await.unwrap();
    let consent = karen
        .change_consent(
            c.id,
            ConsentChange {
                channel: ConsentChannel::Sms,
                status: ConsentStatus::OptedOut,
                cause: None,
                conversation_id: None,
                note: None,
                recorded_by: None,
            },
        )
        .await
        .unwrap();
    karen.delete::<ConversationAttachment>(a.id).await.unwrap();
    karen.delete::<CustomerPreference>(pref.id).await.unwrap();
    karen.delete::<Conversation>(m.id).await.unwrap();
    let d = karen.create(customer("erased@example.com")).await.unwrap();
    let dm = karen.create(message(d.id, Medium::Sms, Direction::Inbound, ctx.clock.now())).await.unwrap();
    karen.delete::<Customer>(d.id).await.unwrap();

    let expected = vec![
        (CustomerCreated, c.id, Some(c.id)),
        (CustomerUpdated, c.id, Some(c.id)),
        (PreferenceCreated, pref.id, Some(c.id)),
        (PreferenceUpdated, pref.id, Some(c.id)),
        (ConversationCreated, m.id, Some(c.id)),
        (AttachmentCreated, a.id, Some(c.id)),
        (ConversationUpdated, m.id, Some(c.id)),
        (ConsentCreated, consent.id, Some(c.id)),
        (AttachmentDeleted, a.id, Some(c.id)),
        (PreferenceDeleted, pref.id, Some(c.id)),
        (ConversationDeleted, m.id, Some(c.id)),
        (CustomerCreated, d.id, Some(d.id)),
        (ConversationCreated, dm.id, Some(d.id)),
        (CustomerDeleted, d.id, Some(d.id)),
    ];
    let events = all_after(karen.store(), 0).await;
    assert_eq!(seen(&events), expected, "the events of the writes, in order");
    assert!(events.windows(2).all(|w| w[0].position < w[1].position), "positions rise");
    assert_eq!(events.iter().map(|e| e.id).collect::<HashSet<_>>().len(), events.len(), "event ids are unique");
    let last = events.last().unwrap().position;
    assert_eq!(karen.store().last_event_position().await.unwrap(), last);
    let started = Utc::now() - chrono::Duration::hours(1);
    assert!(events.iter().all(|e| e.occurred_at > started && e.occurred_at <= Utc::now()), "times are the writes'");

    // The feed: pages of 3 give the same events, and the last cursor gives nothing more.
    let mut paged = Vec::new();
    let mut feed = EventFeed { limit: Some(3), ..Default::default() };
    loop {
        let page = karen.events(&feed).await.unwrap();
        assert!(page.items.len() <= 3);
        let done = page.items.is_empty();
        paged.extend(page.items);
        feed.after = page.next_cursor.clone();
        assert!(feed.after.is_some(), "the feed always says where to go on");
        if done {
            break;
        }
    }
    assert_eq!(seen(&paged), expected);

    // Filters by type and by customer, alone and together.
    let types =
        EventFeed { types: vec![ConversationCreated, ConversationDeleted], limit: Some(100), ..Default::default() };
    let got = karen.events(&types).await.unwrap().items;
    assert_eq!(seen(&got), vec![expected[4], expected[10], expected[12]]);
    let of_d = EventFeed { customer_id: Some(d.id), limit: Some(100), ..Default::default() };
    assert_eq!(seen(&karen.events(&of_d).await.unwrap().items), expected[11..].to_vec());
    let both = EventFeed { customer_id: Some(c.id), ..types.clone() };
    assert_eq!(seen(&karen.events(&both).await.unwrap().items), vec![expected[4], expected[10]]);

    // From now on: nothing yet; a wait ends with the next write's event.
    let now = karen.events_cursor_now().await.unwrap();
    let empty = karen.events(&EventFeed { after: Some(now.clone()), ..Default::default() }).await.unwrap();
    assert!(empty.items.is_empty());
    assert_eq!(empty.next_cursor.as_deref(), Some(now.as_str()), "an empty page keeps the reader's place");
    let wait = EventFeed { after: Some(now.clone()), wait: Duration::from_secs(20), ..Default::default() };
    let waiting = karen.events(&wait);
    let write = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        karen.create(customer("late@example.com")).await.unwrap()
    };
    let (page, late) = tokio::join!(waiting, write);
    assert_eq!(seen(&page.unwrap().items), vec![(CustomerCreated, late.id, Some(late.id))], "the wait ends with it");

    // What is not a request of the feed is refused, naming the field.
    let refused = |feed: EventFeed, field: &'static str| async move {
        match karen.events(&feed).await {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    };
    refused(EventFeed { after: Some("garbage".into()), ..Default::default() }, "after").await;
    let other_listing = karen.list::<Customer>(&[], &karen_core::query::PageRequest::of(1)).await.unwrap();
    refused(EventFeed { after: other_listing.next_cursor, ..Default::default() }, "after").await;
    refused(EventFeed { limit: Some(0), ..Default::default() }, "limit").await;
    refused(EventFeed { limit: Some(MAX_EVENT_LIMIT + 1), ..Default::default() }, "limit").await;
    refused(EventFeed { wait: Duration::from_secs(31), ..Default::default() }, "wait").await;

    // Retention: nothing is older than an hour; everything is older than a minute from now.
    assert_eq!(karen.store().prune_events(Utc::now() - chrono::Duration::hours(1)).await.unwrap(), 0);
    assert_eq!(all_after(karen.store(), 0).await.len(), expected.len() + 1);
    let removed = karen.store().prune_events(Utc::now() + chrono::Duration::minutes(1)).await.unwrap();
    assert_eq!(removed as usize, expected.len() + 1);
    assert!(all_after(karen.store(), 0).await.is_empty());
    // Positions go on after a prune: a reader's cursor never sees a number twice.
    let after_prune = karen.create(customer("after-prune@example.com")).await.unwrap();
    let fresh = all_after(karen.store(), 0).await;
    assert_eq!(seen(&fresh), vec![(CustomerCreated, after_prune.id, Some(after_prune.id))]);
    assert!(fresh[0].position > last + 1);
}

/// Writers per run of [`a_follower_sees_every_event_once_under_concurrent_writers`].
const WRITERS: usize = 16;
/// Messages each writer adds to its customer.
const MESSAGES_PER_WRITER: usize = 6;

/// 16 writers each create a customer, messages and a preference while a reader follows the
/// feed in small pages: the reader sees every event exactly once, in the order each writer
/// made them, and its positions only rise.
pub async fn a_follower_sees_every_event_once_under_concurrent_writers<S: Store>(ctx: Ctx<S>) {
    let ctx = Arc::new(ctx);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let follower = {
        let (ctx, done) = (ctx.clone(), done.clone());
        tokio::spawn(async move {
            let mut got: Vec<Event> = Vec::new();
            let mut feed = EventFeed { limit: Some(7), ..Default::default() };
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = ctx.karen.events(&feed).await.unwrap();
                feed.after = page.next_cursor;
                let empty = page.items.is_empty();
                got.extend(page.items);
                if empty && finished {
                    return got;
                }
                if empty {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let ctx = ctx.clone();
        writers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            let c = ctx.karen.create(customer(&format!("writer{w}@example.com"))).await.unwrap();
            made.push((EventType::CustomerCreated, c.id));
            for i in 0..MESSAGES_PER_WRITER {
                let at = ctx.clock.now() - chrono::Duration::minutes(i as i64);
                let m = ctx.karen.create(message(c.id, Medium::Sms, Direction::Inbound, at)).await.unwrap();
                made.push((EventType::ConversationCreated, m.id));
                if i == 2 {
                    let p = preference(c.id, "gate_code", json!(format!("{w}")), PreferenceMedium::Sms);
                    let p = ctx.karen.upsert_preference(p).await.unwrap();
                    made.push((EventType::PreferenceCreated, p.id));
                }
            }
            (c.id, made)
        }));
    }
    let mut expected: HashMap<Uuid, Vec<(EventType, Uuid)>> = HashMap::new();
    for w in writers {
        let (c, made) = w.await.unwrap();
        expected.insert(c, made);
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let got = follower.await.unwrap();

    let total: usize = expected.values().map(Vec::len).sum();
    assert_eq!(got.len(), total, "every event once: {} seen, {} written", got.len(), total);
    assert!(got.windows(2).all(|w| w[0].position < w[1].position), "the reader's positions only rise");
    assert_eq!(got.iter().map(|e| e.id).collect::<HashSet<_>>().len(), total, "no event twice");
    let mut per_customer: HashMap<Uuid, Vec<(EventType, Uuid)>> = HashMap::new();
    for e in &got {
        per_customer.entry(e.customer_id.expect("a customer")).or_default().push((e.event_type, e.entity_id));
    }
    assert_eq!(per_customer, expected, "each customer's events in the order they were written");
    assert_eq!(all_after(ctx.karen.store(), 0).await, got, "the reader saw the log as it is");
}

/// Subscriptions and their delivery records are stored like any row: created with a secret
/// and the newest event's cursor, listed by status, their cursor kept, their deliveries listed
/// per subscription and outcome in order, and deleted with them; a bad one is refused naming
/// the field.
pub async fn webhooks_and_their_deliveries_are_stored<S: Store>(ctx: Ctx<S>) {
    use karen_core::karen::NewWebhook;
    use karen_core::query::PageRequest;
    use karen_core::Value;
    let karen = &ctx.karen;
    karen.create(customer("before@example.com")).await.unwrap();
    let hook = karen
        .create_webhook(NewWebhook {
            url: "https://hooks.example.com/karen".into(),
            types: vec![EventType::ConversationCreated],
            description: Some("agents".into()),
        })
        .await
        .unwrap();
    assert!(hook.secret.starts_with("whsec_"));
    assert_eq!(
        karen_core::events::cursor::open("cursor", &hook.cursor).unwrap(),
        karen.store().last_event_position().await.unwrap(),
        "a new subscription starts at the newest event"
    );
    let other =
        karen.create_webhook(NewWebhook { url: "http://other.example/x".into(), ..Default::default() }).await.unwrap();
    let stored: Webhook = karen.get(hook.id).await.unwrap();
    assert_eq!(stored, hook);
    assert!(stored.wants(EventType::ConversationCreated) && !stored.wants(EventType::CustomerCreated));
    assert!(other.wants(EventType::CustomerCreated), "no types: every type");

    for (bad, field) in [
        (NewWebhook { url: "ftp://x.example/".into(), ..Default::default() }, "url"),
        (NewWebhook { url: "https://u:p@x.example/".into(), ..Default::default() }, "url"),
        (NewWebhook { url: "https:///path".into(), ..Default::default() }, "url"),
        (NewWebhook { url: format!("https://x.example/{}", "a".repeat(2048)), ..Default::default() }, "url"),
        (
            NewWebhook { url: "https://x.example/".into(), description: Some("d".repeat(501)), ..Default::default() },
            "description",
        ),
    ] {
        match karen.create_webhook(bad).await {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    match karen
        .update::<Webhook>(hook.id, json!({"secret": "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}).as_object().unwrap())
        .await
    {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "secret"),
        other => panic!("the secret is not changed by a patch: {other:?}"),
    }

    // The worker's writes: the cursor moves, attempts are recorded.
    let moved = karen_core::events::cursor::seal(42);
    let m2 = moved.clone();
    karen
        .store()
        .update::<Webhook, _>(hook.id, move |mut h| {
            h.cursor = m2.clone();
            Ok(h)
        })
        .await
        .unwrap();
    assert_eq!(karen.get::<Webhook>(hook.id).await.unwrap().cursor, moved);
    let event = Uuid::new_v4();
    let attempt = |n: i32, outcome: DeliveryOutcome| WebhookDelivery {
        id: Uuid::now_v7(),
        webhook_id: hook.id,
        event_id: event,
        event_type: EventType::ConversationCreated,
        attempt: n,
        outcome,
        response_status: Some(if outcome == DeliveryOutcome::Delivered { 204 } else { 500 }),
        error: (outcome == DeliveryOutcome::Failed).then(|| "the receiver answered HTTP 500".to_string()),
        duration_ms: 12,
        attempted_at: ctx.clock.now(),
        next_attempt_at: None,
    };
    let rows = vec![
        attempt(1, DeliveryOutcome::Failed),
        attempt(2, DeliveryOutcome::Failed),
        attempt(3, DeliveryOutcome::Delivered),
    ];
    karen.store().insert_many(&rows).await.unwrap();
    let all = karen.webhook_deliveries(hook.id, None, &PageRequest::of(10)).await.unwrap();
    assert_eq!(all.items, rows, "every attempt, oldest first");
    let ok = karen.webhook_deliveries(hook.id, Some(DeliveryOutcome::Delivered), &PageRequest::of(10)).await.unwrap();
    assert_eq!(ok.items, rows[2..].to_vec());
    let page = karen.webhook_deliveries(hook.id, None, &PageRequest::of(2)).await.unwrap();
    let rest = karen
        .webhook_deliveries(hook.id, None, &PageRequest { cursor: page.next_cursor, limit: Some(2) })
        .await
        .unwrap();
    assert_eq!([page.items, rest.items].concat(), rows);
    assert!(karen.webhook_deliveries(other.id, None, &PageRequest::of(10)).await.unwrap().items.is_empty());
    let active =
        karen.list::<Webhook>(&[("status", Value::Text("active".into()))], &PageRequest::of(10)).await.unwrap();
    assert_eq!(active.items.len(), 2);

    // Deleting a subscription deletes its records, and only its.
    karen
        .store()
        .insert_many(&[WebhookDelivery { id: Uuid::now_v7(), webhook_id: other.id, ..rows[0].clone() }])
        .await
        .unwrap();
    karen.delete::<Webhook>(hook.id).await.unwrap();
    assert!(matches!(
        karen.webhook_deliveries(hook.id, None, &PageRequest::of(10)).await,
        Err(StoreError::NotFound { .. })
    ));
    let left = karen.list::<WebhookDelivery>(&[], &PageRequest::of(10)).await.unwrap().items;
    assert_eq!(left.iter().map(|d| d.webhook_id).collect::<Vec<_>>(), vec![other.id]);
}

/// A merge's events: the rows it moves are `.updated` with their new customer, the customer
/// kept is `customer.updated` (it gained a field), the duplicate `customer.deleted`; a dry
/// run writes none.
pub async fn a_merge_moves_rows_as_updates_and_deletes_the_duplicate<S: Store>(ctx: Ctx<S>) {
    use karen_core::merge::MergeRequest;
    let karen = &ctx.karen;
    let a =
        karen.create(Customer { primary_email: Some("kept@example.com".into()), ..Default::default() }).await.unwrap();
    let b = karen
        .create(Customer {
            primary_email: Some("dup@example.com".into()),
            primary_phone: Some("+17575550199".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let m = karen.create(message(b.id, Medium::Sms, Direction::Inbound, ctx.clock.now())).await.unwrap();
    let p =
        karen.upsert_preference(preference(b.id, "gate_code", json!("4321"), PreferenceMedium::General)).await.unwrap();
    let before = karen.store().last_event_position().await.unwrap();
    karen.merge_customers(a.id, &MergeRequest { duplicate_id: b.id, dry_run: true }).await.unwrap();
    assert!(all_after(karen.store(), before).await.is_empty(), "a dry run writes no events");
    karen.merge_customers(a.id, &MergeRequest { duplicate_id: b.id, dry_run: false }).await.unwrap();
    let events = all_after(karen.store(), before).await;
    // In the backend's order of its steps (SQLite removes the duplicate before it fills the
    // kept customer's fields, freeing their unique values).
    let mut got = seen(&events);
    got.sort();
    let mut expected = vec![
        (EventType::CustomerUpdated, a.id, Some(a.id)),
        (EventType::PreferenceUpdated, p.id, Some(a.id)),
        (EventType::ConversationUpdated, m.id, Some(a.id)),
        (EventType::CustomerDeleted, b.id, Some(b.id)),
    ];
    expected.sort();
    assert_eq!(got, expected);
}
