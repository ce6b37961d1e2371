//! The delivery worker of `serve` (decisions.md item 27, docs/decisions.md K54): one task per
//! active subscription follows the event log from the subscription's cursor and POSTs each
//! event it wants, signed; per customer one event at a time and in order (a later event of a
//! customer waits for the earlier one), customers side by side. A 2xx answer delivers; any
//! other answer, a timeout or a broken connection is retried after the schedule's next wait
//! (with jitter); an event that fails every attempt disables the subscription. Each attempt is
//! recorded before the cursor passes its event, so a `serve` killed between a delivery and
//! its record delivers that event again: at least once, never lost.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use karen_core::enums::{DeliveryOutcome, WebhookStatus};
use karen_core::events::{cursor, Event, EventQuery};
use karen_core::model::{Webhook, WebhookDelivery};
use karen_core::validate::to_micros;
use karen_core::{Karen, Store, StoreError, Value};
use tokio::time::Instant;
use uuid::Uuid;

use super::{policy, sign};

/// The default waits before each retry: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h,
/// 8 h; eleven attempts over 23 h 43 min.
pub const DEFAULT_SCHEDULE: [Duration; 10] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
    Duration::from_secs(7200),
    Duration::from_secs(14400),
    Duration::from_secs(28800),
    Duration::from_secs(28800),
];

/// Events a subscription's worker holds at once (read ahead of its cursor).
const WINDOW: usize = 2000;

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Whether loopback and private addresses may be webhook targets.
    pub allow_private: bool,
    /// The waits before the retries of a failed event; after the last, the subscription is
    /// disabled.
    pub schedule: Vec<Duration>,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How often a worker with nothing to do looks at the log again.
    pub poll: Duration,
    /// Deliveries one subscription has in flight at once (at most one per customer).
    pub in_flight: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow_private: false,
            schedule: DEFAULT_SCHEDULE.to_vec(),
            timeout: Duration::from_secs(10),
            poll: Duration::from_millis(200),
            in_flight: 64,
        }
    }
}

/// Parses a retry schedule such as `5s,30s,2m,1h` (units ms, s, m, h).
pub fn parse_schedule(raw: &str) -> Result<Vec<Duration>, String> {
    raw.split(',')
        .map(|part| {
            let part = part.trim();
            let (digits, unit) = part.split_at(part.find(|c: char| !c.is_ascii_digit()).unwrap_or(part.len()));
            let n: u64 = digits.parse().map_err(|_| format!("'{part}' is not a duration such as 30s"))?;
            match unit {
                "ms" => Ok(Duration::from_millis(n)),
                "s" => Ok(Duration::from_secs(n)),
                "m" => Ok(Duration::from_secs(n * 60)),
                "h" => Ok(Duration::from_secs(n * 3600)),
                _ => Err(format!("'{part}' has no unit of ms, s, m or h")),
            }
        })
        .collect()
}

/// `wait` with up to a fifth of it added or taken away, so subscribers that failed together
/// do not retry together.
fn jittered(wait: Duration) -> Duration {
    let fifth = wait.as_millis() as u64 / 5;
    if fifth == 0 {
        return wait;
    }
    let r = (Uuid::new_v4().as_u128() % u128::from(2 * fifth + 1)) as u64;
    wait + Duration::from_millis(r) - Duration::from_millis(fifth)
}

/// Runs the workers of every active subscription until the task is dropped: a new or
/// re-enabled subscription gets its worker within a second.
pub async fn deliver_forever<S: Store>(karen: Arc<Karen<S>>, config: WebhookConfig) {
    let client = match policy::client(config.allow_private, config.timeout) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; webhooks are not delivered");
            return;
        }
    };
    let config = Arc::new(config);
    let mut running: HashMap<Uuid, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1).min(config.poll * 5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        running.retain(|_, task| !task.is_finished());
        let filters = vec![("status", Value::Text(WebhookStatus::Active.as_str().into()))];
        match karen_core::store::list_every::<S, Webhook>(karen.store(), filters).await {
            Ok(hooks) => {
                for hook in hooks {
                    running.entry(hook.id).or_insert_with(|| {
                        let worker = Worker { karen: karen.clone(), client: client.clone(), config: config.clone() };
                        tokio::spawn(async move { worker.run(hook.id).await })
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing webhook subscriptions failed"),
        }
    }
}

/// An event waiting for delivery: its attempt number and when it is due.
struct Pending {
    event: Event,
    attempt: u32,
    due: Instant,
}

/// What one attempt came to.
struct Attempted {
    position: i64,
    status: Option<u16>,
    error: Option<String>,
    millis: u64,
}

struct Worker<S> {
    karen: Arc<Karen<S>>,
    client: reqwest::Client,
    config: Arc<WebhookConfig>,
}

impl<S: Store> Worker<S> {
    /// Delivers subscription `id`'s events until it is disabled or deleted, or the database
    /// fails (the next round of [`deliver_forever`] starts it again from its cursor).
    async fn run(&self, id: Uuid) {
        if let Err(e) = self.deliver(id).await {
            tracing::warn!(webhook_id = %id, error = %e, "webhook delivery stopped; it resumes from its cursor");
        }
    }

    async fn deliver(&self, id: Uuid) -> Result<(), StoreError> {
        let store = self.karen.store();
        let first = store.get::<Webhook>(id).await?;
        let mut done = cursor::open("cursor", &first.cursor)?;
        let mut read = done;
        let mut pending: BTreeMap<i64, Pending> = BTreeMap::new();
        loop {
            let hook = match store.get::<Webhook>(id).await {
                Ok(h) if h.status == WebhookStatus::Active => h,
                Ok(_) | Err(StoreError::NotFound { .. }) => return Ok(()),
                Err(e) => return Err(e),
            };
            if pending.len() < WINDOW {
                // Events at or below `last` have all committed (the log's positions are
                // commit order), so a page short of its limit has read every wanted one up to it.
                let last = store.last_event_position().await?;
                let query = EventQuery { after: read, types: hook.event_types(), customer_id: None, limit: 500 };
                let page = store.events(&query).await?;
                let short = page.len() < query.limit as usize;
                let now = Instant::now();
                for event in page {
                    read = read.max(event.position);
                    pending.insert(event.position, Pending { event, attempt: 1, due: now });
                }
                if short {
                    read = read.max(last);
                }
            }
            let due = self.due(&pending);
            if !due.is_empty() {
                let attempts = futures_util::future::join_all(due.iter().map(|p| self.attempt(&hook, &pending[p])));
                let results = attempts.await;
                if !self.settle(&hook, &mut pending, results).await? {
                    return Ok(());
                }
            }
            let now_done = pending.keys().next().map_or(read, |p| p - 1);
            if now_done > done {
                let sealed = cursor::seal(now_done);
                store
                    .update::<Webhook, _>(id, move |mut h| {
                        h.cursor = sealed.clone();
                        Ok(h)
                    })
                    .await?;
                done = now_done;
            }
            if due.is_empty() {
                let next = pending.values().map(|p| p.due).min();
                let wake = next.map_or(self.config.poll, |d| d.saturating_duration_since(Instant::now()));
                tokio::time::sleep(wake.min(self.config.poll)).await;
            }
        }
    }

    /// The positions to attempt now: the oldest pending event of each customer (of each row,
    /// for an event without a customer) when it is due, at most `in_flight`.
    fn due(&self, pending: &BTreeMap<i64, Pending>) -> Vec<i64> {
        let now = Instant::now();
        let mut lanes: HashSet<Uuid> = HashSet::new();
        let mut out = Vec::new();
        for (position, p) in pending {
            let lane = p.event.customer_id.unwrap_or(p.event.entity_id);
            if !lanes.insert(lane) {
                continue;
            }
            if p.due <= now {
                out.push(*position);
                if out.len() == self.config.in_flight.max(1) {
                    break;
                }
            }
        }
        out
    }

    /// One signed POST of `p`'s event.
    async fn attempt(&self, hook: &Webhook, p: &Pending) -> Attempted {
        let started = Instant::now();
        let outcome = self.post(hook, &p.event).await;
        let millis = started.elapsed().as_millis() as u64;
        let (status, error) = match outcome {
            Ok(s) if (200..300).contains(&s) => (Some(s), None),
            Ok(s) => (Some(s), Some(format!("the receiver answered HTTP {s}"))),
            Err(e) => (None, Some(e)),
        };
        Attempted { position: p.event.position, status, error, millis }
    }

    async fn post(&self, hook: &Webhook, event: &Event) -> Result<u16, String> {
        if policy::literal_refused(&hook.url, self.config.allow_private) {
            return Err("the URL names a loopback or private address, which this server does not deliver to".into());
        }
        let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
        let id = event.id.to_string();
        let timestamp = Utc::now().timestamp();
        let signature = sign::signature(&hook.secret, &id, timestamp, &body).ok_or("the secret cannot sign")?;
        let answer = self
            .client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("no answer within {} s", self.config.timeout.as_secs_f64())
                } else if e.is_connect() {
                    "the connection failed".to_string()
                } else {
                    "the request failed before an answer".to_string()
                }
            })?;
        Ok(answer.status().as_u16())
    }

    /// Records the attempts, drops what was delivered, schedules retries; disables the
    /// subscription (and answers false) when an event has failed its last attempt.
    async fn settle(
        &self,
        hook: &Webhook,
        pending: &mut BTreeMap<i64, Pending>,
        results: Vec<Attempted>,
    ) -> Result<bool, StoreError> {
        let store = self.karen.store();
        let mut records = Vec::with_capacity(results.len());
        let mut gave_up: Option<(Uuid, u32, String)> = None;
        let now = Instant::now();
        for r in results {
            let p = pending.get_mut(&r.position).expect("an attempted event is pending");
            let delivered = r.error.is_none();
            let retry = (!delivered).then(|| self.config.schedule.get(p.attempt as usize - 1).copied()).flatten();
            records.push(WebhookDelivery {
                id: Uuid::now_v7(),
                webhook_id: hook.id,
                event_id: p.event.id,
                event_type: p.event.event_type,
                attempt: p.attempt as i32,
                outcome: if delivered { DeliveryOutcome::Delivered } else { DeliveryOutcome::Failed },
                response_status: r.status.map(i32::from),
                error: r.error.clone(),
                duration_ms: r.millis.min(i32::MAX as u64) as i32,
                attempted_at: to_micros(Utc::now()),
                next_attempt_at: retry
                    .map(|w| to_micros(Utc::now() + chrono::Duration::from_std(w).unwrap_or_default())),
            });
            match (delivered, retry) {
                (true, _) => {
                    pending.remove(&r.position);
                }
                (false, Some(wait)) => {
                    p.attempt += 1;
                    p.due = now + jittered(wait);
                }
                (false, None) => {
                    gave_up.get_or_insert((p.event.id, p.attempt, r.error.unwrap_or_default()));
                }
            }
        }
        let mut stamped = Vec::with_capacity(records.len());
        for mut r in records {
            use karen_core::Entity;
            r.validate()?;
            stamped.push(r);
        }
        store.insert_many(&stamped).await?;
        for r in &stamped {
            tracing::debug!(webhook_id = %hook.id, event_id = %r.event_id, attempt = r.attempt, outcome = r.outcome.as_str(), "webhook attempt");
        }
        if let Some((event, attempts, error)) = gave_up {
            let reason = format!("event {event} failed all {attempts} attempts; the last: {error}");
            tracing::warn!(webhook_id = %hook.id, %event, attempts, "a webhook subscription is disabled after its retries ran out");
            store
                .update::<Webhook, _>(hook.id, move |mut h| {
                    h.status = WebhookStatus::Disabled;
                    h.disabled_reason = Some(reason.chars().take(500).collect());
                    h.updated_at = to_micros(Utc::now());
                    Ok(h)
                })
                .await?;
            return Ok(false);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_and_jitter_stays_within_a_fifth() {
        assert_eq!(
            parse_schedule("500ms, 5s,2m,1h").unwrap(),
            vec![
                Duration::from_millis(500),
                Duration::from_secs(5),
                Duration::from_secs(120),
                Duration::from_secs(3600)
            ]
        );
        for bad in ["", "5", "5x", "s", "1d"] {
            assert!(parse_schedule(bad).is_err(), "{bad}");
        }
        let total: Duration = DEFAULT_SCHEDULE.iter().sum();
        assert!(total <= Duration::from_secs(24 * 3600) && total > Duration::from_secs(23 * 3600));
        for _ in 0..100 {
            let j = jittered(Duration::from_secs(10));
            assert!(j >= Duration::from_secs(8) && j <= Duration::from_secs(12), "{j:?}");
        }
    }
}
