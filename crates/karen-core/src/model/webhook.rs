//! `webhook_subscriptions` and `webhook_deliveries`: where change events are POSTed
//! (decisions.md item 27, docs/decisions.md K54) and every attempt to deliver one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::entity::{Entity, EntityKind};
use crate::enums::{DeliveryOutcome, EventType, WebhookStatus};
use crate::error::{StoreError, StoreResult};
use crate::validate as v;

/// The longest webhook URL accepted.
pub const MAX_WEBHOOK_URL: usize = 2048;

crate::entity_struct! {
    /// A subscription: the events of `types` (all when empty) are POSTed to `url`, signed
    /// with `secret` (Standard Webhooks).
    pub struct Webhook {
        /// Primary key.
        pub id: Uuid = Uuid,
        /// Where events are POSTed: an http(s) URL of at most 2,048 characters.
        pub url: String = Text,
        /// The event types delivered; empty: every type.
        pub types: Vec<String> = TextArray,
        /// What the subscription is for (at most 500 characters).
        pub description: Option<String> = Text,
        /// `whsec_` and the base64 of the signing key; shown once, when it is created.
        pub secret: String = Text,
        /// active or disabled (by its owner, or by karen after an event failed for the whole
        /// retry schedule).
        pub status: WebhookStatus = Text,
        /// Why karen disabled it, when it did.
        pub disabled_reason: Option<String> = Text,
        /// The event feed's cursor (as GET /v1/events takes it) up to which every event is
        /// delivered or given up: where delivery resumes after a restart. Kept by karen.
        pub cursor: String = Text,
        /// Set by the store on create.
        pub created_at: DateTime<Utc> = Timestamp,
        /// Set on every update.
        pub updated_at: DateTime<Utc> = Timestamp,
    }
}

impl Default for Webhook {
    fn default() -> Self {
        Webhook {
            id: Uuid::nil(),
            url: String::new(),
            types: Vec::new(),
            description: None,
            secret: String::new(),
            status: WebhookStatus::Active,
            disabled_reason: None,
            cursor: crate::events::cursor::seal(0),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

impl Webhook {
    /// The event types this subscription receives (all when `types` is empty).
    pub fn wants(&self, t: EventType) -> bool {
        self.types.is_empty() || self.types.iter().any(|x| x == t.as_str())
    }

    /// The parsed event types (empty: all).
    pub fn event_types(&self) -> Vec<EventType> {
        self.types.iter().filter_map(|t| t.parse().ok()).collect()
    }
}

/// Checks the form of a webhook URL: http or https, a host, no user name or password, at
/// most [`MAX_WEBHOOK_URL`] characters. Whether its host may be reached is the server's rule.
pub fn check_webhook_url(url: &str) -> StoreResult<()> {
    v::required_text("url", url, MAX_WEBHOOK_URL)?;
    let bad = |rule: &str| Err(StoreError::invalid("url", rule));
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => rest,
        _ => return bad("must be an http or https URL"),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return bad("must not carry a user name or password");
    }
    if authority.is_empty() || authority.starts_with(':') {
        return bad("must name a host");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain spaces or control characters");
    }
    Ok(())
}

impl Entity for Webhook {
    const KIND: EntityKind = EntityKind::Webhook;
    const IMMUTABLE: &'static [&'static str] = &["id", "secret", "cursor", "created_at", "updated_at"];
    const FILTERS: &'static [&'static str] = &["status"];
    const SECRET_FIELDS: &'static [&'static str] = &["secret"];
    super::record_methods!();

    crate::field_rules!(url: WebhookUrl, description: MaxLen(500), disabled_reason: MaxLen(500));

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()?;
        let mut seen = Vec::new();
        for t in &self.types {
            let parsed: EventType = t.parse().map_err(|_| {
                StoreError::invalid("types", format!("'{t}' is not an event type; use: {}", EventType::allowed()))
            })?;
            if seen.contains(&parsed) {
                return Err(StoreError::invalid("types", format!("names '{t}' twice")));
            }
            seen.push(parsed);
        }
        let key = self.secret.strip_prefix("whsec_").unwrap_or("");
        if key.len() < 24 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=') {
            return Err(StoreError::invalid("secret", "must be whsec_ and the base64 of a key of at least 18 bytes"));
        }
        crate::events::cursor::open("cursor", &self.cursor)?;
        Ok(())
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        let now = v::to_micros(now);
        if creating {
            self.created_at = now;
        }
        self.updated_at = now;
    }
}

crate::entity_struct! {
    /// One attempt to deliver one event to one subscription.
    pub struct WebhookDelivery {
        /// Primary key (UUIDv7: the attempts' order).
        pub id: Uuid = Uuid,
        /// The subscription.
        pub webhook_id: Uuid = Uuid,
        /// The event (its `webhook-id` header).
        pub event_id: Uuid = Uuid,
        /// The event's type.
        pub event_type: EventType = Text,
        /// 1 for the first attempt of this event, 2 for its first retry, ...
        pub attempt: i32 = Int,
        /// delivered (a 2xx answer) or failed.
        pub outcome: DeliveryOutcome = Text,
        /// The receiver's HTTP status, when it answered.
        pub response_status: Option<i32> = Int,
        /// What went wrong, when it failed: the status, a timeout, a refused connection.
        pub error: Option<String> = Text,
        /// How long the attempt took, in milliseconds.
        pub duration_ms: i32 = Int,
        /// When the attempt was made.
        pub attempted_at: DateTime<Utc> = Timestamp,
        /// When the next attempt is due, after a failure that has retries left.
        pub next_attempt_at: Option<DateTime<Utc>> = Timestamp,
    }
}

impl Default for WebhookDelivery {
    fn default() -> Self {
        WebhookDelivery {
            id: Uuid::nil(),
            webhook_id: Uuid::nil(),
            event_id: Uuid::nil(),
            event_type: EventType::CustomerCreated,
            attempt: 1,
            outcome: DeliveryOutcome::Failed,
            response_status: None,
            error: None,
            duration_ms: 0,
            attempted_at: DateTime::<Utc>::UNIX_EPOCH,
            next_attempt_at: None,
        }
    }
}

impl Entity for WebhookDelivery {
    const KIND: EntityKind = EntityKind::WebhookDelivery;
    const IMMUTABLE: &'static [&'static str] = &[
        "id",
        "webhook_id",
        "event_id",
        "event_type",
        "attempt",
        "outcome",
        "response_status",
        "error",
        "duration_ms",
        "attempted_at",
        "next_attempt_at",
    ];
    const FILTERS: &'static [&'static str] = &["webhook_id", "event_id", "outcome"];
    super::record_methods!();

    crate::field_rules!(attempt: Int(1, i32::MAX), duration_ms: Int(0, i32::MAX), error: MaxLen(500));

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating && self.attempted_at == DateTime::<Utc>::UNIX_EPOCH {
            self.attempted_at = v::to_micros(now);
        }
    }
}
