//! The change-event feed (decisions.md item 27): pages of the log after a cursor, waiting a
//! while for the next event when there is none yet.

use std::time::Duration;

use uuid::Uuid;

use super::Karen;
use crate::enums::EventType;
use crate::error::{StoreError, StoreResult};
use crate::events::{cursor, Event, EventQuery, DEFAULT_EVENT_LIMIT};
use crate::query::Page;
use crate::store::Store;

/// Longest a feed request may wait for its first event (issue 20: 30 seconds).
pub const MAX_EVENT_WAIT: Duration = Duration::from_secs(30);
/// How often a waiting feed request looks at the log again.
pub const EVENT_POLL: Duration = Duration::from_millis(100);

/// A request of the feed: the events after `after` (a cursor of the feed; none: from the
/// oldest kept), of `types` (empty: all) and `customer_id`, at most `limit`, waiting up to
/// `wait` for one when there is none yet.
#[derive(Debug, Clone, Default)]
pub struct EventFeed {
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// Only these types.
    pub types: Vec<EventType>,
    /// Only this customer's events.
    pub customer_id: Option<Uuid>,
    /// Page size, 1 to [`crate::events::MAX_EVENT_LIMIT`]; [`DEFAULT_EVENT_LIMIT`] when none.
    pub limit: Option<u32>,
    /// How long to wait for a first event, at most [`MAX_EVENT_WAIT`].
    pub wait: Duration,
}

impl<S: Store> Karen<S> {
    /// The events after `feed.after`, in commit order. The page's `next_cursor` is always set:
    /// after the last event returned, or where the request started when none came, so a reader
    /// that passes it back sees every event once. When there is none yet, waits up to
    /// `feed.wait` for one.
    pub async fn events(&self, feed: &EventFeed) -> StoreResult<Page<Event>> {
        if feed.wait > MAX_EVENT_WAIT {
            return Err(StoreError::invalid("wait", format!("must be at most {} seconds", MAX_EVENT_WAIT.as_secs())));
        }
        let after = feed.after.as_deref().map(|c| cursor::open("after", c)).transpose()?.unwrap_or(0);
        let query = EventQuery {
            after,
            types: feed.types.clone(),
            customer_id: feed.customer_id,
            limit: feed.limit.unwrap_or(DEFAULT_EVENT_LIMIT),
        };
        query.check()?;
        let deadline = tokio::time::Instant::now() + feed.wait;
        loop {
            let items = self.store.events(&query).await?;
            let now = tokio::time::Instant::now();
            if !items.is_empty() || now >= deadline {
                let last = items.last().map_or(after, |e| e.position);
                return Ok(Page { items, next_cursor: Some(cursor::seal(last)) });
            }
            tokio::time::sleep(EVENT_POLL.min(deadline - now)).await;
        }
    }

    /// The cursor of the newest event: a reader that starts there sees only what happens
    /// from now on.
    pub async fn events_cursor_now(&self) -> StoreResult<String> {
        Ok(cursor::seal(self.store.last_event_position().await?))
    }

    /// Deletes the events older than `days` days (retention) and says how many went. Events
    /// carry the database's time, so the cut is taken from the system clock, not karen's.
    pub async fn prune_events(&self, days: u32) -> StoreResult<u64> {
        if days == 0 {
            return Err(StoreError::invalid("event_retention_days", "must be at least 1"));
        }
        self.store.prune_events(chrono::Utc::now() - chrono::Duration::days(i64::from(days))).await
    }
}
