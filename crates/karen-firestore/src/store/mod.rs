//! [`FirestoreStore`]: the store interface over Firestore. What Firestore lacks, this provides:
//! unique markers written in the same commit as the row, reference checks inside the
//! transaction, cascades in batches (children first, the parent last, so a crashed delete is
//! finished by running it again), and `updated_at` set by karen.

use chrono::{DateTime, Utc};
use karen_core::enums::{Medium, PreferenceType};
use karen_core::model::*;
use karen_core::preferences::transaction::Decide;
use karen_core::preferences::PreferenceKey;
use karen_core::query::{
    ConversationHit, ConversationSearch, HistoryQuery, ListQuery, MediumCounts, PackageItem, PreferenceQuery,
};
use karen_core::{Entity, EntityKind, Store, StoreError, StoreResult, Value};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::auth::Credentials;
use crate::client::{Client, GOOGLE_ENDPOINT};
use crate::codec::entity;
use crate::layout::{self, eq, order, query};

mod cascade;
mod merge;
mod patterns;
mod preferences;
mod rules;
mod search;
mod writes;

use rules::*;
use writes::*;

/// Writes per commit when deleting in batches (Firestore allows 500).
const BATCH: usize = 450;

/// The largest message content stored: a Firestore document is at most 1 MiB with its other
/// fields.
const MAX_CONTENT_BYTES: usize = 1_000_000;

/// karen's Firestore store for one project.
#[derive(Debug, Clone)]
pub struct FirestoreStore {
    client: Client,
    /// This process's merges (each several commits) take turns here; single transactions take
    /// theirs in the client ([`Client::transaction`]).
    merging: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl FirestoreStore {
    /// A store for `project`: the emulator of `FIRESTORE_EMULATOR_HOST` when set, else Google's
    /// service with the credentials of the environment ([`Credentials::from_environment`]:
    /// `GOOGLE_OAUTH_ACCESS_TOKEN`, or Application Default Credentials).
    pub async fn connect(project: &str) -> StoreResult<Self> {
        match std::env::var("FIRESTORE_EMULATOR_HOST").ok().filter(|h| !h.is_empty()) {
            Some(host) => FirestoreStore::emulator(&host, project),
            None => FirestoreStore::google(project, GOOGLE_ENDPOINT, Credentials::from_environment().await?),
        }
    }

    /// A store over an explicit emulator host.
    pub fn emulator(host: &str, project: &str) -> StoreResult<Self> {
        FirestoreStore::google(project, &format!("http://{host}"), Credentials::Emulator)
    }

    /// A store for `project` at `endpoint` (Google's, [`GOOGLE_ENDPOINT`], or another that
    /// speaks its API), authorized by `credentials`.
    pub fn google(project: &str, endpoint: &str, credentials: Credentials) -> StoreResult<Self> {
        Ok(FirestoreStore { client: Client::new(project, endpoint, credentials)?, merging: Default::default() })
    }

    /// Applies pending document migrations ([`crate::migrate`]) and returns how many ran.
    pub async fn migrate(&self) -> StoreResult<usize> {
        crate::migrate::migrate(self).await
    }

    /// The REST client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Records every structured query into `log` (the index-coverage test).
    pub fn record_queries(&mut self, log: std::sync::Arc<std::sync::Mutex<Vec<Json>>>) {
        self.client.record_queries(log);
    }

    /// The steps of a merge, one by one: what [`Store::merge_customers`] runs in order through
    /// [`karen_core::merge::apply`], for tests and tools that stop between two steps as a crash
    /// would.
    pub fn merge_steps(&self) -> impl karen_core::merge::MergeTx + '_ {
        merge::FirestoreMergeTx { store: self }
    }

    /// Takes this process's turn for a merge.
    async fn merge_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.merging.lock().await
    }

    /// Finds the path of a row of `kind` by id (a collection-group query for subcollections).
    async fn locate(&self, kind: EntityKind, id: Uuid, tx: Option<&str>) -> StoreResult<Option<(String, Json)>> {
        if layout::parent(kind).is_none() {
            let path = format!("{}/{id}", layout::collection(kind));
            return Ok(self.client.get(&path, tx).await?.map(|d| (path, d)));
        }
        let q = query(layout::collection(kind), true, Some(eq("id", &Value::Uuid(id))), order(&[]), Some(5));
        for doc in self.client.query("", q, tx).await? {
            let name = doc.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
            let path = self.client.path_of(&name).to_string();
            if layout::is_kind(kind, &path) {
                return Ok(Some((path, doc)));
            }
        }
        Ok(None)
    }

    async fn docs<E: Entity>(&self, parent: &str, q: Json) -> StoreResult<Vec<E>> {
        self.client.query(parent, q, None).await?.iter().map(entity).collect()
    }
}

impl Store for FirestoreStore {
    fn backend(&self) -> &'static str {
        "firestore"
    }

    fn max_content_bytes(&self) -> Option<usize> {
        Some(MAX_CONTENT_BYTES)
    }

    async fn ping(&self) -> StoreResult<()> {
        self.client.get("_karen_unique/_ping", None).await.map(|_| ())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
    async fn get<E: Entity>(&self, id: Uuid) -> StoreResult<E> {
        match self.locate(E::KIND, id, None).await? {
            Some((_, doc)) => entity(&doc),
            None => Err(StoreError::not_found(E::KIND.name(), id)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %e.id()))]
    async fn insert<E: Entity>(&self, e: &E) -> StoreResult<E> {
        writes::insert::<E>(self, e).await
    }

    /// Atomic per chunk of 100 rows (a Firestore commit takes at most 500 writes, markers
    /// included); the conformance suite's batches fit in one chunk.
    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), rows = rows.len()))]
    async fn insert_many<E: Entity>(&self, rows: &[E]) -> StoreResult<()> {
        writes::insert_many::<E>(self, rows).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
    async fn update<E, F>(&self, id: Uuid, change: F) -> StoreResult<E>
    where
        E: Entity,
        F: Fn(E) -> StoreResult<E> + Send + Sync + 'static,
    {
        writes::update::<E, F>(self, id, change).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name(), id = %id))]
    async fn delete<E: Entity>(&self, id: Uuid) -> StoreResult<()> {
        cascade::delete::<E>(self, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn delete_customer(&self, id: Uuid) -> StoreResult<Vec<(EntityKind, u64)>> {
        cascade::delete_customer(self, id).await
    }

    async fn merge_customers(
        &self,
        into: Uuid,
        duplicate: Uuid,
        at: DateTime<Utc>,
        dry_run: bool,
    ) -> StoreResult<karen_core::merge::MergeReport> {
        karen_core::merge::apply(&mut merge::FirestoreMergeTx { store: self }, into, duplicate, at, dry_run).await
    }

    async fn merge_record(&self, id: Uuid) -> StoreResult<Option<karen_core::merge::MergeRecord>> {
        merge::merge_record(self, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(entity = E::KIND.name()))]
    async fn list<E: Entity>(&self, q: &ListQuery) -> StoreResult<Vec<E>> {
        patterns::list::<E>(self, q).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %key.customer_id))]
    async fn change_preference<R, F>(
        &self,
        key: &PreferenceKey,
        decide: F,
    ) -> StoreResult<(Option<CustomerPreference>, R)>
    where
        R: Send + 'static,
        F: Decide<R>,
    {
        preferences::change_preference::<R, F>(self, key, decide).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %customer_id))]
    async fn preference_history(
        &self,
        customer_id: Uuid,
        preference_type: Option<PreferenceType>,
        preference_key: Option<&str>,
    ) -> StoreResult<Vec<PreferenceHistory>> {
        preferences::preference_history(self, customer_id, preference_type, preference_key).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %q.customer_id))]
    async fn active_preferences(&self, q: &PreferenceQuery) -> StoreResult<Vec<CustomerPreference>> {
        patterns::active_preferences(self, q).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_conversations(&self, q: &ConversationSearch) -> StoreResult<Vec<ConversationHit>> {
        search::search(self, q).await
    }

    fn searches_all_customers(&self) -> bool {
        false
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn events(&self, query: &karen_core::events::EventQuery) -> StoreResult<Vec<karen_core::events::Event>> {
        crate::events::events(&self.client, query).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn last_event_position(&self) -> StoreResult<i64> {
        crate::events::last_position(&self.client).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn prune_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        crate::events::prune(&self.client, before).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %q.customer_id))]
    async fn conversation_history(&self, q: &HistoryQuery) -> StoreResult<Vec<Conversation>> {
        patterns::conversation_history(self, q).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn thread_messages(&self, thread_id: &str) -> StoreResult<Vec<Conversation>> {
        patterns::thread_messages(self, thread_id).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn conversation_by_external_id(
        &self,
        medium: Medium,
        external_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        patterns::conversation_by_external_id(self, medium, external_id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %c.id))]
    async fn insert_message(
        &self,
        c: &Conversation,
        consent: Option<&ConsentRecord>,
        attachments: &[ConversationAttachment],
        if_new: bool,
    ) -> StoreResult<(Conversation, bool)> {
        patterns::insert_message(self, c, consent, attachments, if_new).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn catalog_version(&self) -> StoreResult<i64> {
        writes::catalog_version(self).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(parent = ?parent))]
    async fn category_children(&self, parent: Option<Uuid>) -> StoreResult<Vec<ServiceCategory>> {
        patterns::category_children(self, parent).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn category_ancestors(&self, id: Uuid) -> StoreResult<Vec<ServiceCategory>> {
        patterns::category_ancestors(self, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(package_id = %package_id))]
    async fn package_items(&self, package_id: Uuid) -> StoreResult<Vec<PackageItem>> {
        patterns::package_items(self, package_id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %customer_id))]
    async fn communication_counts(
        &self,
        customer_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<MediumCounts>> {
        patterns::communication_counts(self, customer_id, from, to).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customer_by_email(&self, email: &str) -> StoreResult<Option<Customer>> {
        patterns::customer_by_email(self, email).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customers_by_email(&self, email: &str) -> StoreResult<Vec<Customer>> {
        patterns::customers_by_email(self, email).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customers_by_phone(&self, phone: &str) -> StoreResult<Vec<Customer>> {
        patterns::customers_by_phone(self, phone).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn customer_by_external_id(&self, external_id: &str) -> StoreResult<Option<Customer>> {
        patterns::customer_by_external_id(self, external_id).await
    }
}
