//! The measured operations, each as karen runs it and as the raw driver runs the same SQL.

use std::sync::Arc;

use chrono::Utc;
use karen_core::enums::{Direction, Medium, PreferenceMedium, PreferenceSource, PreferenceType};
use karen_core::model::{Conversation, CustomerPreference};
use karen_core::query::PageRequest;
use karen_core::{Karen, Store};
use serde_json::json;
use uuid::Uuid;

use crate::measure::{op, Op};
use crate::raw::Raw;

/// Operation names, in table order. The first six read; the keyed ones are those of the
/// scaling table; the last two write.
pub const NAMES: [&str; 8] = [
    "preference lookup (pattern 1)",
    "conversation history (pattern 2)",
    "service search (pattern 3)",
    "analytics, 30 days (pattern 4)",
    "customer by email",
    "thread lookup",
    "insert inbound message",
    "upsert preference",
];

/// Reads: the index-set table.
pub const READS: usize = 6;

/// Keyed lookups: the scaling table (pattern 1, pattern 2, by e-mail, thread).
pub const KEYED: [usize; 4] = [0, 1, 4, 5];

/// What the operations pick their inputs from.
#[derive(Clone)]
pub struct Workload {
    /// Customer ids of the loaded data.
    pub customers: Arc<Vec<Uuid>>,
    /// Search words.
    pub vocabulary: Arc<Vec<String>>,
    /// Distinguishes this run's written rows from earlier runs'.
    pub run: Arc<str>,
}

impl Workload {
    /// A spread-out customer for call `i`.
    pub fn customer(&self, i: u64) -> Uuid {
        self.customers[(i.wrapping_mul(2_654_435_761) % self.customers.len() as u64) as usize]
    }
    /// The e-mail of customer number `i % n` (data.rs names them so).
    pub fn email(&self, i: u64) -> String {
        format!("customer{}@example.com", i % self.customers.len() as u64)
    }
    /// Two search words for call `i`.
    pub fn words(&self, i: u64) -> [String; 2] {
        let n = self.vocabulary.len() as u64;
        [self.vocabulary[(i % n) as usize].clone(), self.vocabulary[(i.wrapping_mul(7) % n) as usize].clone()]
    }
    /// A thread id of the loaded data.
    pub fn thread(&self, i: u64) -> String {
        format!("thread-{}", i % 1000)
    }
}

/// Pushes onto `$ops` an [`Op`] that runs `$body` with clones of `$ctx` (karen or the raw
/// pool) and the workload.
macro_rules! push_op {
    ($ops:ident, $ctx:expr, $w:expr, |$c:ident, $wl:ident, $i:ident| $body:expr) => {{
        let (cc, ww) = ($ctx.clone(), $w.clone());
        $ops.push(op(move |$i| {
            let ($c, $wl) = (cc.clone(), ww.clone());
            async move {
                $body;
                Ok(())
            }
        }));
    }};
}

/// The operations through karen, in [`NAMES`] order.
pub fn karen_ops<S: Store>(k: Arc<Karen<S>>, w: &Workload) -> Vec<Op> {
    let mut ops = Vec::new();
    push_op!(ops, k, w, |k, w, i| k.preferences(w.customer(i), Some(PreferenceType::CommunicationMethod)).await?);
    push_op!(ops, k, w, |k, w, i| k.history(w.customer(i), Some(Medium::Email), &PageRequest::first()).await?);
    push_op!(ops, k, w, |k, w, i| k.search_services(&w.words(i), &PageRequest::first()).await?);
    push_op!(ops, k, w, |k, w, i| k.analytics(w.customer(i), 30).await?);
    push_op!(ops, k, w, |k, w, i| k.customer_by_email(&w.email(i)).await?);
    push_op!(ops, k, w, |k, w, i| k.thread(&w.thread(i)).await?);
    push_op!(ops, k, w, |k, w, i| k
        .record_message(Conversation {
            customer_id: w.customer(i),
            external_id: Some(format!("bench-k-{}-{i}", w.run)),
            medium: Medium::Sms,
            direction: Direction::Inbound,
            content: "Is Thursday still good?".into(),
            message_timestamp: Utc::now(),
            ..Default::default()
        })
        .await?);
    push_op!(ops, k, w, |k, w, i| k
        .upsert_preference(CustomerPreference {
            customer_id: w.customer(i),
            preference_type: PreferenceType::Custom,
            preference_key: "bench_counter".into(),
            preference_value: json!({ "value": i }),
            confidence_score: rust_decimal::Decimal::new(5, 1),
            source: PreferenceSource::Learned,
            medium: PreferenceMedium::General,
            ..Default::default()
        })
        .await?);
    ops
}

/// The same operations as plain SQL through the driver, in [`NAMES`] order.
pub fn raw_ops(r: &Raw, w: &Workload) -> Vec<Op> {
    let mut ops = Vec::new();
    push_op!(ops, r, w, |r, w, i| r.preferences(w.customer(i), "communication_method", Utc::now()).await?);
    push_op!(ops, r, w, |r, w, i| r.history(w.customer(i), "email").await?);
    push_op!(ops, r, w, |r, w, i| r.search(&w.words(i)).await?);
    push_op!(ops, r, w, |r, w, i| r
        .analytics(w.customer(i), Utc::now() - chrono::Duration::days(30), Utc::now())
        .await?);
    push_op!(ops, r, w, |r, w, i| r.by_email(&w.email(i)).await?);
    push_op!(ops, r, w, |r, w, i| r.thread(&w.thread(i)).await?);
    push_op!(ops, r, w, |r, w, i| r
        .insert_message(w.customer(i), &format!("bench-r-{}-{i}", w.run), "Is Thursday still good?", Utc::now())
        .await?);
    push_op!(ops, r, w, |r, w, i| r.upsert_preference(w.customer(i), i as i64, Utc::now()).await?);
    ops
}
