//! The store interface every backend implements. It receives input that [`crate::Karen`] has
//! already validated and stamped; it enforces uniqueness, references and cascades, and
//! translates its database's errors into [`StoreError`](crate::StoreError).

use std::future::Future;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::entity::{Entity, EntityKind};
use crate::enums::{Medium, PreferenceType};
use crate::error::StoreResult;
use crate::events::{Event, EventQuery};
use crate::merge::{MergeRecord, MergeReport};
use crate::model::{
    ConsentRecord, Conversation, ConversationAttachment, Customer, CustomerPreference, PreferenceHistory,
    ServiceCategory,
};
use crate::preferences::transaction::Decide;
use crate::preferences::PreferenceKey;
use crate::query::{
    ConversationHit, ConversationSearch, HistoryQuery, ListQuery, MediumCounts, PackageItem, PreferenceQuery,
};

/// A backend: PostgreSQL, SQLite or Firestore.
///
/// Methods return `Send` futures so a server can run them on any thread.
pub trait Store: Send + Sync + 'static {
    /// A short backend name (`postgres`, `sqlite`, `firestore`).
    fn backend(&self) -> &'static str;

    /// The largest message `content` this backend stores, in bytes, when it has a limit
    /// (Firestore: documents are at most 1 MiB). SQL backends have none. The conformance suite
    /// asserts both sides of this difference.
    fn max_content_bytes(&self) -> Option<usize> {
        None
    }

    /// Checks the database answers.
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    /// Inserts a new row; a broken unique rule is a conflict, a dangling reference a reference error.
    fn insert<E: Entity>(&self, entity: &E) -> impl Future<Output = StoreResult<E>> + Send;

    /// Inserts many new rows of one entity in as few round trips as the backend allows, all or
    /// nothing: the bulk path of imports and loads. The default inserts one by one.
    fn insert_many<E: Entity>(&self, rows: &[E]) -> impl Future<Output = StoreResult<()>> + Send {
        async move {
            for row in rows {
                self.insert(row).await?;
            }
            Ok(())
        }
    }

    /// Reads one row by id.
    fn get<E: Entity>(&self, id: Uuid) -> impl Future<Output = StoreResult<E>> + Send;

    /// Reads a row, lets `change` compute its new version, and writes it, all in one
    /// transaction that holds the row, so concurrent updates never lose each other's changes.
    /// `change` may be called more than once by a backend that retries aborted transactions.
    fn update<E, F>(&self, id: Uuid, change: F) -> impl Future<Output = StoreResult<E>> + Send
    where
        E: Entity,
        F: Fn(E) -> StoreResult<E> + Send + Sync + 'static;

    /// Deletes a row and, as the design says, everything that belongs to it.
    fn delete<E: Entity>(&self, id: Uuid) -> impl Future<Output = StoreResult<()>> + Send;

    /// Deletes a customer and everything of theirs (decision 17) and says how many rows of each
    /// entity went: one transaction on the SQL backends; on Firestore children first, so a
    /// crashed erasure is finished by running it again. Not found when there is no customer.
    fn delete_customer(&self, id: Uuid) -> impl Future<Output = StoreResult<Vec<(EntityKind, u64)>>> + Send;

    /// Merges customer `duplicate` into `into` (decisions.md item 25) by running
    /// [`crate::merge::apply`] over this backend: one transaction on the SQL backends; on
    /// Firestore a sequence of atomic writes that a rerun after a crash completes. With
    /// `dry_run` nothing is written.
    fn merge_customers(
        &self,
        into: Uuid,
        duplicate: Uuid,
        at: DateTime<Utc>,
        dry_run: bool,
    ) -> impl Future<Output = StoreResult<MergeReport>> + Send;

    /// Where customer `id` went if it was merged away (or, on Firestore, is being merged).
    fn merge_record(&self, id: Uuid) -> impl Future<Output = StoreResult<Option<MergeRecord>>> + Send;

    /// Lists rows in id order with equality filters.
    fn list<E: Entity>(&self, query: &ListQuery) -> impl Future<Output = StoreResult<Vec<E>>> + Send;

    /// Runs [`crate::preferences::transaction::apply`] in one transaction of this backend: reads
    /// the row of `key` (holding it against concurrent changes), lets `decide` compute the
    /// change, writes the row, appends the history rows, and sets the customer's summary column.
    /// Returns the row after and what `decide` returned beside the change. A concurrent insert
    /// of the same key makes this a conflict, which the caller retries; `decide` may be called
    /// more than once by a backend that retries aborted transactions.
    fn change_preference<R, F>(
        &self,
        key: &PreferenceKey,
        decide: F,
    ) -> impl Future<Output = StoreResult<(Option<CustomerPreference>, R)>> + Send
    where
        R: Send + 'static,
        F: Decide<R>;

    /// History rows of a customer, optionally of one type and key, newest first by
    /// (superseded_at, id), at most 1,000.
    fn preference_history(
        &self,
        customer_id: Uuid,
        preference_type: Option<PreferenceType>,
        preference_key: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<PreferenceHistory>>> + Send;

    /// Active, unexpired preferences ordered by priority, confidence desc, id (pattern 1); not
    /// found when `customer_must_exist` and the customer does not exist.
    fn active_preferences(
        &self,
        query: &PreferenceQuery,
    ) -> impl Future<Output = StoreResult<Vec<CustomerPreference>>> + Send;

    /// A customer's messages, newest first by (message_timestamp, id) (pattern 2); not found
    /// when `customer_must_exist` and the customer does not exist.
    fn conversation_history(&self, query: &HistoryQuery)
        -> impl Future<Output = StoreResult<Vec<Conversation>>> + Send;

    /// The newest message of a customer on each medium they used, in `Medium::ALL` order. The
    /// default asks [`Store::conversation_history`] once per medium, concurrently; the SQL
    /// backends answer in one statement.
    fn latest_by_medium(&self, customer_id: Uuid) -> impl Future<Output = StoreResult<Vec<Conversation>>> + Send {
        async move {
            let reads = Medium::ALL.iter().map(|&medium| {
                let q = HistoryQuery {
                    customer_id,
                    medium: Some(medium),
                    before: None,
                    limit: 1,
                    customer_must_exist: false,
                };
                async move { self.conversation_history(&q).await }
            });
            Ok(futures_util::future::try_join_all(reads).await?.into_iter().flatten().collect())
        }
    }

    /// The messages of a thread, oldest first by (message_timestamp, id).
    fn thread_messages(&self, thread_id: &str) -> impl Future<Output = StoreResult<Vec<Conversation>>> + Send;

    /// The message with this (medium, external_id), if any.
    fn conversation_by_external_id(
        &self,
        medium: Medium,
        external_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Conversation>>> + Send;

    /// Inserts a message and, with it in one transaction, the consent change its text makes
    /// (an SMS keyword, decisions.md item 24) and its attachments' rows (an inbound e-mail's
    /// parts, decision 20). With `if_new`, a message whose (medium, external_id) is stored
    /// already is returned unchanged and nothing is written (decisions.md item 5); without it,
    /// that is a conflict. The customer's `last_contact_at` rises to the message's time in the
    /// same write (the SQL backends by trigger, so other programs' inserts count too). Returns
    /// the stored message and whether it was inserted now.
    fn insert_message(
        &self,
        message: &Conversation,
        consent: Option<&ConsentRecord>,
        attachments: &[ConversationAttachment],
        if_new: bool,
    ) -> impl Future<Output = StoreResult<(Conversation, bool)>> + Send;

    /// Inserts many new inbound messages with their attachments in as few transactions as the
    /// backend allows (the SQL backends: one), each as [`Store::insert_message`] with `if_new`
    /// and no consent row: one already stored is skipped. Returns, per message, whether it was
    /// inserted. All or nothing on the SQL backends; the default inserts one by one.
    fn insert_messages(
        &self,
        batch: &[(Conversation, Vec<ConversationAttachment>)],
    ) -> impl Future<Output = StoreResult<Vec<bool>>> + Send {
        async move {
            let mut out = Vec::with_capacity(batch.len());
            for (m, files) in batch {
                out.push(self.insert_message(m, None, files, true).await?.1);
            }
            Ok(out)
        }
    }

    /// Full-text search over messages' subjects and contents (decisions.md item 26): the
    /// matches of `query.query` that pass its filters, best first (rank desc, then
    /// message_timestamp desc, then id desc), after `query.after`, at most `query.limit`, each
    /// with a snippet marked with [`crate::search::MARK_START`]/[`crate::search::MARK_END`].
    /// Every backend answers a query with the same set of messages.
    fn search_conversations(
        &self,
        query: &ConversationSearch,
    ) -> impl Future<Output = StoreResult<Vec<ConversationHit>>> + Send;

    /// Whether [`Store::search_conversations`] can search all customers at once; a backend
    /// that cannot index that (Firestore) refuses a search without `customer_id`.
    fn searches_all_customers(&self) -> bool {
        true
    }

    /// The catalog version: a number that every committed write to services, service
    /// categories, pricing tiers, packages or package services changes, in the same transaction as the write and whoever
    /// made it, so an in-process snapshot of what search reads can tell it is stale
    /// ([`crate::catalog`]). One keyed read.
    fn catalog_version(&self) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Children of a category (roots for `None`), by sort_order, name, id.
    fn category_children(&self, parent: Option<Uuid>)
        -> impl Future<Output = StoreResult<Vec<ServiceCategory>>> + Send;

    /// The ancestors of a category, nearest first; not found when the category does not exist.
    fn category_ancestors(&self, id: Uuid) -> impl Future<Output = StoreResult<Vec<ServiceCategory>>> + Send;

    /// The items of a package with their services, by sort_order, id.
    fn package_items(&self, package_id: Uuid) -> impl Future<Output = StoreResult<Vec<PackageItem>>> + Send;

    /// Per-medium message counts of a customer with `from <= message_timestamp <= to` (pattern 4);
    /// not found when the customer does not exist (checked in the same statement where the
    /// backend can, so an empty window costs no second round trip).
    fn communication_counts(
        &self,
        customer_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<MediumCounts>>> + Send;

    /// The customer whose primary e-mail equals `email` case-insensitively.
    fn customer_by_email(&self, email: &str) -> impl Future<Output = StoreResult<Option<Customer>>> + Send;

    /// Customers whose primary or secondary e-mail equals `email` case-insensitively, by id
    /// (Firestore: the secondary e-mail as given or lower-cased, docs/decisions.md K49).
    fn customers_by_email(&self, email: &str) -> impl Future<Output = StoreResult<Vec<Customer>>> + Send;

    /// Customers whose primary or secondary phone is `phone` (E.164), by id.
    fn customers_by_phone(&self, phone: &str) -> impl Future<Output = StoreResult<Vec<Customer>>> + Send;

    /// The customer with this external id.
    fn customer_by_external_id(&self, external_id: &str) -> impl Future<Output = StoreResult<Option<Customer>>> + Send;

    /// The change events after `query.after` that pass its filters, in commit order, at most
    /// `query.limit` (decisions.md item 27, docs/decisions.md K53). Every backend writes an
    /// event in the same transaction as the write it describes and numbers events so that a
    /// reader following positions never passes one that commits later: each event is seen
    /// exactly once.
    fn events(&self, query: &EventQuery) -> impl Future<Output = StoreResult<Vec<Event>>> + Send;

    /// The position of the newest event, 0 when there is none: where a reader that wants only
    /// what happens from now on starts.
    fn last_event_position(&self) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Deletes the events that occurred before `before` (retention) and says how many went.
    fn prune_events(&self, before: DateTime<Utc>) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// Rows per page of [`list_every`].
const EVERY_PAGE: u32 = 500;

/// Every row of `E` matching `filters`, page by page in id order (the catalog snapshot, a
/// customer's ledger and export read whole sets this way).
pub async fn list_every<S: Store, E: Entity>(
    store: &S,
    filters: Vec<(&'static str, crate::Value)>,
) -> StoreResult<Vec<E>> {
    let mut out: Vec<E> = Vec::new();
    loop {
        let after = out.last().map(|e| e.id());
        let page = store.list::<E>(&ListQuery { filters: filters.clone(), after, limit: EVERY_PAGE }).await?;
        let done = page.len() < EVERY_PAGE as usize;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}
