//! [`Karen`]: the library API. It validates and stamps input, applies the rules that need more
//! than one row (the category tree), and turns backend results into pages and reports. Every
//! caller (HTTP server, CLI, tests) goes through it, so each rule lives in one place.

mod attachments;
mod consent;
mod context;
mod crud;
mod customer_data;
mod events;
mod inbound;
mod lookups;
mod quotes;
mod relations;
mod search;
mod tokens;
mod webhooks;

use std::sync::Arc;

use crate::catalog::CatalogCache;
use crate::clock::{Clock, SystemClock};
use crate::entity::Entity;
use crate::error::StoreResult;
use crate::query::Page;
use crate::store::Store;

pub use attachments::{
    Files, Opened, ScanReport, SweepReport, Upload, VerifyReport, DEFAULT_MAX_ATTACHMENT_BYTES, MAX_SCAN_ATTEMPTS,
};
pub use events::{EventFeed, EVENT_POLL, MAX_EVENT_WAIT};
pub use tokens::{generate_token, hash_token};
pub use webhooks::{generate_webhook_secret, NewWebhook};

/// karen over one store, with the clock it reads "now" from.
pub struct Karen<S> {
    store: S,
    clock: Arc<dyn Clock>,
    catalog: CatalogCache,
    /// Inbound messages of the same counterpart take turns here, so two first messages from a
    /// new address create one customer (karen/inbound.rs).
    inbound_turns: inbound::Turns,
    /// Where attachment bytes are kept; none: karen keeps attachment metadata only.
    files: Option<Arc<attachments::Files>>,
}

impl<S: Store> Karen<S> {
    /// karen over `store` with the system clock.
    pub fn new(store: S) -> Self {
        Karen::with_clock(store, Arc::new(SystemClock))
    }

    /// karen over `store` reading time from `clock`.
    pub fn with_clock(store: S, clock: Arc<dyn Clock>) -> Self {
        Karen { store, clock, catalog: CatalogCache::default(), inbound_turns: inbound::Turns::default(), files: None }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The current time by karen's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// Validates an entity: its own rules, then the rules every entity shares (no NUL character,
/// JSON numbers that read back, years from 1 to 9999). Returns the entity's record, which the rules over other rows read.
pub(crate) fn checked<E: Entity>(entity: &mut E) -> StoreResult<crate::value::Record> {
    entity.validate()?;
    let record = entity.to_record();
    crate::validate::no_nul(&record)?;
    crate::validate::json_numbers(&record)?;
    crate::validate::years_in_range(&record)?;
    Ok(record)
}

/// Cuts `rows` (fetched with one extra) to `limit` and derives the next cursor from the last kept row.
pub(crate) fn paginate<T>(mut rows: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(&cursor_of) } else { None };
    Page { items: rows, next_cursor }
}
