//! Change events (decisions.md item 27, docs/decisions.md K53): every write to customers,
//! preferences, consent, conversations and attachments appends an event in the same
//! transaction, and readers follow the log with a cursor that never skips one.
//!
//! The backends write the log themselves (the SQL ones by trigger, so other programs' writes
//! count too; Firestore in the commit of each write). What is here is what they share: the
//! event, the question a reader asks, and the rules of both.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::EventType;
use crate::error::{StoreError, StoreResult};

/// Events a page of the feed holds when the caller does not say.
pub const DEFAULT_EVENT_LIMIT: u32 = 100;
/// Most events one page of the feed may hold.
pub const MAX_EVENT_LIMIT: u32 = 1000;
/// How long events are kept when nothing else is configured (issue 20: 30 days).
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Most event types one feed request may name.
pub const MAX_EVENT_TYPES: usize = 15;

/// One change: what happened (`type`), to which row (`entity_id`), of which customer, when.
/// Events carry ids only, never content, so the log holds no contact details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    /// Where the event stands in the log: commit order, gap-free (docs/decisions.md K53).
    /// Readers see it only through cursors.
    #[serde(skip)]
    pub position: i64,
    /// The event's own id (the `webhook-id` of its deliveries).
    pub id: Uuid,
    /// What happened, such as `conversation.created`.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The id of the row that changed.
    pub entity_id: Uuid,
    /// The customer the row belongs to (for a customer, the customer itself).
    pub customer_id: Option<Uuid>,
    /// When the change was written, by the database's clock.
    pub occurred_at: DateTime<Utc>,
}

/// What a reader of the log asks for: the events after `after` (0: from the oldest kept), of
/// these types (none: every type) and this customer, at most `limit`, in commit order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events whose position is greater than this.
    pub after: i64,
    /// Only events of these types; empty: all.
    pub types: Vec<EventType>,
    /// Only events of this customer.
    pub customer_id: Option<Uuid>,
    /// At most this many events, 1 to [`MAX_EVENT_LIMIT`].
    pub limit: u32,
}

impl EventQuery {
    /// Checks the limit and the types: the limit from 1 to [`MAX_EVENT_LIMIT`], each type
    /// named once and at most [`MAX_EVENT_TYPES`] of them.
    pub fn check(&self) -> StoreResult<()> {
        if !(1..=MAX_EVENT_LIMIT).contains(&self.limit) {
            return Err(StoreError::invalid(
                "limit",
                format!("must be between 1 and {MAX_EVENT_LIMIT} (got {})", self.limit),
            ));
        }
        if self.types.len() > MAX_EVENT_TYPES {
            return Err(StoreError::invalid("types", format!("must name at most {MAX_EVENT_TYPES} types")));
        }
        if self.after < 0 {
            return Err(StoreError::invalid("after", "must not be negative"));
        }
        Ok(())
    }

    /// Whether `event` is one this query asks for (position aside): the Firestore backend and
    /// the tests filter with it.
    pub fn wants(&self, event: &Event) -> bool {
        (self.types.is_empty() || self.types.contains(&event.event_type))
            && self.customer_id.is_none_or(|c| event.customer_id == Some(c))
    }
}

/// Parses a comma-separated list of event types (`conversation.created,preference.updated`),
/// naming `field` and the allowed values when one is unknown; empty parts are refused.
pub fn parse_types(field: &str, raw: &str) -> StoreResult<Vec<EventType>> {
    let mut out = Vec::new();
    for part in raw.split(',') {
        let t: EventType = part.trim().parse().map_err(|_| {
            StoreError::invalid(field, format!("'{}' is not an event type; use: {}", part.trim(), EventType::allowed()))
        })?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// The feed's cursor: the position of the last event a reader has seen, sealed so it opens
/// only as an event cursor. It does not depend on the filters: a reader may change the types
/// it follows and keep its place in the log.
pub mod cursor {
    use super::*;

    const LISTING: &str = "events";

    /// The cursor after the event at `position`.
    pub fn seal(position: i64) -> String {
        crate::query::cursor::seal(LISTING, &position.to_string())
    }

    /// The position of a cursor made by [`seal`]; refused, naming `field`, otherwise.
    pub fn open(field: &str, cursor: &str) -> StoreResult<i64> {
        let raw = crate::query::cursor::open(LISTING, cursor)
            .map_err(|_| StoreError::invalid(field, "is not a cursor returned by the event feed"))?;
        raw.parse::<i64>()
            .ok()
            .filter(|p| *p >= 0)
            .ok_or_else(|| StoreError::invalid(field, "is not a cursor returned by the event feed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_and_name_the_field() {
        assert_eq!(
            parse_types("types", "conversation.created, preference.updated,conversation.created").unwrap(),
            vec![EventType::ConversationCreated, EventType::PreferenceUpdated]
        );
        for bad in ["", "conversation", "conversation.created,", "CUSTOMER.CREATED"] {
            let err = parse_types("types", bad).unwrap_err().to_string();
            assert!(err.contains("types") && err.contains("customer.created"), "{bad}: {err}");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_others() {
        assert_eq!(cursor::open("after", &cursor::seal(0)).unwrap(), 0);
        assert_eq!(cursor::open("after", &cursor::seal(987_654_321)).unwrap(), 987_654_321);
        let other = crate::query::cursor::seal("list:customer", "12");
        for bad in ["", "12", other.as_str(), &crate::query::cursor::seal("events", "-3")] {
            assert!(cursor::open("after", bad).unwrap_err().to_string().contains("after"), "{bad}");
        }
    }

    #[test]
    fn queries_check_limits_and_filter() {
        let mut q = EventQuery { limit: 0, ..Default::default() };
        assert!(q.check().unwrap_err().to_string().contains("limit"));
        q.limit = MAX_EVENT_LIMIT + 1;
        assert!(q.check().is_err());
        q.limit = MAX_EVENT_LIMIT;
        q.check().unwrap();
        let c = Uuid::new_v4();
        let e = Event {
            position: 1,
            id: Uuid::new_v4(),
            event_type: EventType::ConversationCreated,
            entity_id: Uuid::new_v4(),
            customer_id: Some(c),
            occurred_at: Utc::now(),
        };
        assert!(q.wants(&e));
        q.customer_id = Some(Uuid::new_v4());
        assert!(!q.wants(&e));
        q.customer_id = Some(c);
        q.types = vec![EventType::CustomerCreated];
        assert!(!q.wants(&e));
        q.types.push(EventType::ConversationCreated);
        assert!(q.wants(&e));
    }
}
