//! The event log's cost on the write path (issue 20, docs/decisions.md K53): an inbound
//! e-mail received and a preference upserted, on a database whose event triggers are in place
//! against one where they are switched off, alternating in one process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Result;
use karen_core::enums::{PreferenceMedium, PreferenceSource, PreferenceType};
use karen_core::model::{Customer, CustomerPreference};
use karen_core::{Karen, Store};

use crate::inbound::{receive_op, senders, shape};
use crate::measure::{self, op, Op};
use crate::report::Report;

/// The tables whose triggers write events, with their trigger name stems.
const EVENTED: [&str; 5] =
    ["customers", "customer_preferences", "customer_consents", "conversations", "conversation_attachments"];

/// Switches the event triggers of a SQLite file off (drops them: the file is the bench's own).
pub async fn without_events_sqlite(store: &karen_sqlite::SqliteStore) -> Result<()> {
    for table in EVENTED {
        for op in ["insert", "update", "delete"] {
            sqlx::query(&format!("DROP TRIGGER trg_{table}_event_{op}")).execute(store.writer()).await?;
        }
    }
    Ok(())
}

/// Switches the event triggers of a PostgreSQL database off.
pub async fn without_events_postgres(store: &karen_postgres::PgStore) -> Result<()> {
    for table in EVENTED {
        sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER trg_{table}_event")).execute(store.pool()).await?;
    }
    Ok(())
}

/// The two writes of one side: a 4 KB inbound e-mail from a known customer, and an upsert of
/// one of the senders' preferences to a new value.
async fn writes<S: Store>(karen: Arc<Karen<S>>, side: &'static str) -> Result<[Op; 2]> {
    senders(&karen).await?;
    let customers: Vec<Customer> = karen_core::store::list_every(karen.store(), vec![]).await?;
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let receive = receive_op(karen.clone(), shape(false, run, side));
    let (k, customers, next) = (karen.clone(), Arc::new(customers), Arc::new(AtomicU64::new(0)));
    let upsert = op(move |_| {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let (k, c) = (k.clone(), customers[i as usize % customers.len()].id);
        async move {
            k.upsert_preference(CustomerPreference {
                customer_id: c,
                preference_type: PreferenceType::Custom,
                preference_key: "gate_code".into(),
                preference_value: serde_json::json!({"value": format!("{i}")}),
                confidence_score: "0.9".parse()?,
                source: PreferenceSource::Explicit,
                medium: PreferenceMedium::General,
                ..Default::default()
            })
            .await?;
            Ok(())
        }
    });
    Ok([receive, upsert])
}

/// Both writes with events against without, on one backend.
pub async fn compare<S: Store>(
    report: &mut Report,
    backend: &str,
    with: Arc<Karen<S>>,
    without: Arc<Karen<S>>,
    seconds: f64,
) -> Result<()> {
    let on = writes(with.clone(), "with").await?;
    let off = writes(without.clone(), "without").await?;
    for (i, name) in ["inbound e-mail, 4 KB text", "upsert preference"].iter().enumerate() {
        let (a, b) = measure::compare(1, seconds, &on[i], &off[i]).await?;
        report.operation(backend, &format!("{name}: with events / without"), &a, &b);
    }
    let written = with.store().last_event_position().await?;
    let none = without.store().last_event_position().await?;
    anyhow::ensure!(written > 0 && none == 0, "events were written on one side only ({written} and {none})");
    Ok(())
}

/// Webhook delivery (issue 20: at least 2,000 events/s): `events` messages written in bulk to
/// a fresh SQLite file after a subscription was made, then delivered by `serve`'s worker to a
/// local receiver that answers 204; against the same number of plain POSTs of the same body
/// to the same receiver, 64 at a time (the worker's concurrency).
pub async fn delivery(report: &mut Report, dir: &std::path::Path, events: usize) -> Result<()> {
    use karen_core::enums::{Direction, Medium};
    use karen_core::model::Conversation;
    let name = "events-delivery.db";
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
    }
    let store = karen_sqlite::SqliteStore::open_with(&dir.join(name), 4).await?;
    let karen = Arc::new(Karen::new(store));
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: bytes::Bytes| {
            let counter = counter.clone();
            async move {
                if headers.contains_key("webhook-signature") && !body.is_empty() {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // The baseline: plain POSTs of an event's body.
    let client = reqwest::Client::new();
    let sample = br#"{"id":"0193a3c4-0000-7000-8000-000000000000","type":"conversation.created","entity_id":"0193a3c4-0000-7000-8000-000000000001","customer_id":"0193a3c4-0000-7000-8000-000000000002","occurred_at":"2026-12-03T12:00:00.000000Z"}"#;
    let next = Arc::new(AtomicU64::new(0));
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < events as u64 {
                client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-signature", "v1,x")
                    .body(&sample[..])
                    .send()
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let raw_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(received.load(Ordering::Relaxed) == events as u64, "the receiver counted every plain POST");

    // karen: a subscription, then the writes, then the worker.
    karen.create_webhook(karen_core::karen::NewWebhook { url, ..Default::default() }).await?;
    let customers: Vec<Customer> = (0..1000)
        .map(|i| Customer {
            id: uuid::Uuid::now_v7(),
            primary_email: Some(format!("delivery{i}@example.com")),
            ..Default::default()
        })
        .collect();
    karen.restore_many(customers.clone()).await?;
    let messages: Vec<Conversation> = (0..events - customers.len())
        .map(|i| Conversation {
            id: uuid::Uuid::now_v7(),
            customer_id: customers[i % customers.len()].id,
            medium: Medium::Sms,
            direction: Direction::Inbound,
            content: format!("message {i}"),
            message_timestamp: chrono::Utc::now(),
            ..Default::default()
        })
        .collect();
    for chunk in messages.chunks(5000) {
        karen.restore_many(chunk.to_vec()).await?;
    }
    received.store(0, Ordering::Relaxed);
    let config = karen_server::WebhookConfig {
        allow_private: true,
        poll: std::time::Duration::from_millis(10),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let worker = tokio::spawn(karen_server::webhooks::deliver_forever(karen.clone(), config));
    while received.load(Ordering::Relaxed) < events as u64 {
        anyhow::ensure!(started.elapsed().as_secs() < 600, "delivery did not finish in 10 minutes");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let karen_secs = started.elapsed().as_secs_f64();
    worker.abort();
    server.abort();
    report.delivery("sqlite", events, karen_secs, raw_secs);
    Ok(())
}
