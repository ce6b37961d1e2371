//! The event log's cost on the write path (issue 20, docs/decisions.md K53): an inbound
//! e-mail received and a preference upserted, on a database whose event triggers are in place
//! against one where they are switched off, alternating in one process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Result;
use karen_core::enums::{PreferenceMedium, PreferenceSource, PreferenceType};
use karen_core::model::{Customer, CustomerPreference};
use karen_core::{Karen, Store};

use crate::inbound::{rules, senders, shape};
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
    let (k, message, next) = (karen.clone(), Arc::new(shape(false, run, side)), Arc::new(AtomicU64::new(0)));
    let rules = Arc::new(rules());
    let receive = op(move |_| {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let (k, rules, raw) = (k.clone(), rules.clone(), message(i));
        async move {
            let r = k.receive(karen_inbound::email::parse(&raw)?, &rules).await?;
            anyhow::ensure!(r.created, "each message is new");
            Ok(())
        }
    });
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
