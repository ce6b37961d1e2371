//! [`Karen`]: the library API. It validates and stamps input, applies the rules that need more
//! than one row (the category tree), and turns backend results into pages and reports. Every
//! caller (HTTP server, CLI, tests) goes through it, so each rule lives in one place.

use std::any::Any;
use std::sync::Arc;

use chrono::Duration;
use uuid::Uuid;

use crate::catalog::CatalogCache;
use crate::clock::{Clock, SystemClock};
use crate::entity::Entity;
use crate::enums::{Medium, PreferenceType};
use crate::error::{StoreError, StoreResult};
use crate::model::category::MAX_CATEGORY_DEPTH;
use crate::model::{Conversation, Customer, CustomerPreference, ServiceCategory};
use crate::patch::{self, Patch};
use crate::query::{
    cursor, search_terms, HistoryQuery, ListQuery, MediumStats, PackageDetail, Page, PageRequest, PreferenceQuery,
    ServiceHit, ServiceSearchQuery,
};
use crate::store::Store;
use crate::value::Value;

/// karen over one store, with the clock it reads "now" from.
pub struct Karen<S> {
    store: S,
    clock: Arc<dyn Clock>,
    catalog: CatalogCache,
}

impl<S: Store> Karen<S> {
    /// karen over `store` with the system clock.
    pub fn new(store: S) -> Self {
        Karen { store, clock: Arc::new(SystemClock), catalog: CatalogCache::default() }
    }

    /// karen over `store` reading time from `clock`.
    pub fn with_clock(store: S, clock: Arc<dyn Clock>) -> Self {
        Karen { store, clock, catalog: CatalogCache::default() }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The current time by karen's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Validates, stamps and stores a new entity. A nil id gets a fresh UUIDv7.
    pub async fn create<E: Entity>(&self, mut entity: E) -> StoreResult<E> {
        if entity.id().is_nil() {
            entity.set_id(Uuid::now_v7());
        }
        checked(&mut entity)?;
        entity.stamp(self.now(), true);
        self.check_relations(&entity).await?;
        if let Some(p) = as_preference(&entity) {
            // Preference writes keep history and summaries: they go through the engine.
            return self.create_preference(p.clone()).await.map(from_preference);
        }
        self.store.insert(&entity).await
    }

    /// Stores an entity exactly as given (id and timestamps kept), after validating it: the
    /// import path, which must reproduce exported data unchanged.
    pub async fn restore<E: Entity>(&self, mut entity: E) -> StoreResult<E> {
        if entity.id().is_nil() {
            return Err(StoreError::invalid("id", "an imported row must carry its id"));
        }
        checked(&mut entity)?;
        self.store.insert(&entity).await
    }

    /// Stores many entities exactly as given, validated, in bulk (one transaction on the SQL
    /// backends): the fast path of loads and imports.
    pub async fn restore_many<E: Entity>(&self, mut rows: Vec<E>) -> StoreResult<()> {
        for row in &mut rows {
            if row.id().is_nil() {
                return Err(StoreError::invalid("id", "an imported row must carry its id"));
            }
            checked(row)?;
        }
        self.store.insert_many(&rows).await
    }

    /// Reads an entity by id.
    pub async fn get<E: Entity>(&self, id: Uuid) -> StoreResult<E> {
        self.store.get(id).await
    }

    /// Changes the fields named in `patch`; the whole result is validated before it is written.
    pub async fn update<E: Entity>(&self, id: Uuid, patch: &Patch) -> StoreResult<E> {
        match E::KIND {
            crate::EntityKind::CustomerPreference => {
                return self.patch_preference(id, patch).await.map(from_preference)
            }
            crate::EntityKind::PreferenceHistory => {
                return Err(StoreError::invalid("preference_history", "history is never edited"));
            }
            _ => {}
        }
        let now = self.now();
        // The category tree rule needs other rows: check against the patched value first.
        if let Some(parent) = patch.get("parent_category_id") {
            if E::KIND == crate::EntityKind::ServiceCategory {
                let parent: Option<Uuid> = serde_json::from_value(parent.clone())
                    .map_err(|e| StoreError::invalid("parent_category_id", e.to_string()))?;
                self.check_category_parent(id, parent).await?;
            }
        }
        let patch = patch.clone();
        self.store
            .update::<E, _>(id, move |current: E| {
                let mut next = patch::apply(&current, &patch)?;
                checked(&mut next)?;
                next.stamp(now, false);
                Ok(next)
            })
            .await
    }

    /// Deletes an entity and what belongs to it.
    pub async fn delete<E: Entity>(&self, id: Uuid) -> StoreResult<()> {
        match E::KIND {
            crate::EntityKind::CustomerPreference => self.delete_preference(id).await,
            crate::EntityKind::PreferenceHistory => {
                Err(StoreError::invalid("preference_history", "history is never edited; it goes with its customer"))
            }
            _ => self.store.delete::<E>(id).await,
        }
    }

    /// Lists entities in id order, filtered by equality on the fields of `E::FILTERS`.
    pub async fn list<E: Entity>(&self, filters: &[(&str, Value)], page: &PageRequest) -> StoreResult<Page<E>> {
        let limit = page.checked_limit()?;
        let mut checked = Vec::with_capacity(filters.len());
        for (name, value) in filters {
            let field = E::FILTERS.iter().find(|f| *f == name).ok_or_else(|| {
                StoreError::invalid(
                    *name,
                    format!("cannot filter {}; filters: {}", E::KIND.name(), E::FILTERS.join(", ")),
                )
            })?;
            checked.push((*field, value.clone()));
        }
        let after = page.cursor.as_deref().map(cursor::decode_id).transpose()?;
        let rows = self.store.list::<E>(&ListQuery { filters: checked, after, limit: limit + 1 }).await?;
        Ok(paginate(rows, limit, |e| cursor::encode_id(e.id())))
    }

    /// Stores a preference, replacing the current value of its (customer, type, key, medium).
    /// The previous version, if any, goes to the preference history as superseded (or
    /// deactivated), and the customer's summary column follows.
    pub async fn upsert_preference(&self, mut preference: CustomerPreference) -> StoreResult<CustomerPreference> {
        if preference.id.is_nil() {
            preference.id = Uuid::now_v7();
        }
        checked(&mut preference)?;
        preference.stamp(self.now(), true);
        self.replace_preference(preference, Some("upsert".into())).await
    }

    /// Active, unexpired preferences of a customer, optionally of one type, ordered by
    /// priority then confidence desc (pattern 1 with decisions.md item 19).
    pub async fn preferences(
        &self,
        customer_id: Uuid,
        preference_type: Option<PreferenceType>,
    ) -> StoreResult<Vec<CustomerPreference>> {
        self.store.active_preferences(&PreferenceQuery { customer_id, preference_type, now: self.now() }).await
    }

    /// Records a message delivered by an external system: a redelivery with the same
    /// (medium, external_id) returns the stored message unchanged. The bool says whether it is new.
    pub async fn record_message(&self, mut message: Conversation) -> StoreResult<(Conversation, bool)> {
        if message.id.is_nil() {
            message.id = Uuid::now_v7();
        }
        checked(&mut message)?;
        message.stamp(self.now(), true);
        self.store.insert_conversation_if_new(&message).await
    }

    /// A customer's messages on one medium (or all), newest first, a page at a time (pattern 2).
    pub async fn history(
        &self,
        customer_id: Uuid,
        medium: Option<Medium>,
        page: &PageRequest,
    ) -> StoreResult<Page<Conversation>> {
        let limit = page.checked_limit()?;
        let before = page.cursor.as_deref().map(cursor::decode_time).transpose()?;
        let rows =
            self.store.conversation_history(&HistoryQuery { customer_id, medium, before, limit: limit + 1 }).await?;
        Ok(paginate(rows, limit, |c| cursor::encode_time(c.message_timestamp, c.id)))
    }

    /// The messages of a thread, oldest first.
    pub async fn thread(&self, thread_id: &str) -> StoreResult<Vec<Conversation>> {
        self.store.thread_messages(thread_id).await
    }

    /// The message with this (medium, external_id).
    pub async fn conversation_by_external_id(&self, medium: Medium, external_id: &str) -> StoreResult<Conversation> {
        self.store
            .conversation_by_external_id(medium, external_id)
            .await?
            .ok_or_else(|| StoreError::not_found("conversation", format!("{medium}:{external_id}")))
    }

    /// Services whose keywords share a word with `keywords`, with category name and default
    /// price, featured first then by name (pattern 3 with decisions.md item 19). Answered from
    /// the in-process catalog snapshot, which follows every committed catalog write
    /// ([`crate::catalog`]).
    pub async fn search_services<T: AsRef<str>>(
        &self,
        keywords: &[T],
        page: &PageRequest,
    ) -> StoreResult<Page<ServiceHit>> {
        let terms = search_terms(keywords)?;
        let limit = page.checked_limit()?;
        let after = page.cursor.as_deref().map(cursor::decode_search).transpose()?;
        let rows = self.catalog.search(&self.store, &ServiceSearchQuery { terms, after, limit: limit + 1 }).await?;
        Ok(paginate(rows, limit, |h| {
            cursor::encode_search(&crate::query::SearchPosition {
                is_featured: h.service.is_featured,
                name: h.service.name.clone(),
                id: h.service.id,
            })
        }))
    }

    /// How many catalog snapshots this karen has loaded: one at the first search, then one
    /// after each catalog write that a search noticed (tests and metrics).
    pub fn catalog_loads(&self) -> u64 {
        self.catalog.loads()
    }

    /// Children of a category, or the roots for `None`.
    pub async fn category_children(&self, parent: Option<Uuid>) -> StoreResult<Vec<ServiceCategory>> {
        if let Some(p) = parent {
            self.store.get::<ServiceCategory>(p).await?;
        }
        self.store.category_children(parent).await
    }

    /// Ancestors of a category, nearest first.
    pub async fn category_ancestors(&self, id: Uuid) -> StoreResult<Vec<ServiceCategory>> {
        self.store.category_ancestors(id).await
    }

    /// A package with its services.
    pub async fn package_detail(&self, id: Uuid) -> StoreResult<PackageDetail> {
        let package = self.store.get(id).await?;
        let items = self.store.package_items(id).await?;
        Ok(PackageDetail { package, items })
    }

    /// Communication analytics of a customer per medium over the last `days` days
    /// (decisions.md item 8), ordered by medium.
    pub async fn analytics(&self, customer_id: Uuid, days: u32) -> StoreResult<Vec<MediumStats>> {
        if !(1..=3660).contains(&days) {
            return Err(StoreError::invalid("days", "must be between 1 and 3660"));
        }
        let to = self.now();
        let from = to - Duration::days(i64::from(days));
        let mut counts = self.store.communication_counts(customer_id, from, to).await?;
        counts.sort_by_key(|c| c.medium.as_str());
        Ok(counts.into_iter().map(MediumStats::from_counts).collect())
    }

    /// The customer with this primary e-mail, compared case-insensitively.
    pub async fn customer_by_email(&self, email: &str) -> StoreResult<Customer> {
        let mut e = email.to_string();
        crate::validate::email("email", &mut e)?;
        self.store.customer_by_email(&e).await?.ok_or_else(|| StoreError::not_found("customer", "with that e-mail"))
    }

    /// Customers with this phone number (any common form; compared in E.164).
    pub async fn customers_by_phone(&self, phone: &str) -> StoreResult<Vec<Customer>> {
        let p = crate::validate::phone("phone", phone)?;
        self.store.customers_by_phone(&p).await
    }

    /// The customer with this external id.
    pub async fn customer_by_external_id(&self, external_id: &str) -> StoreResult<Customer> {
        self.store
            .customer_by_external_id(external_id)
            .await?
            .ok_or_else(|| StoreError::not_found("customer", format!("external_id {external_id}")))
    }

    async fn check_relations<E: Entity>(&self, entity: &E) -> StoreResult<()> {
        if let Some(cat) = (entity as &dyn Any).downcast_ref::<ServiceCategory>() {
            self.check_category_parent(cat.id, cat.parent_category_id).await?;
        }
        Ok(())
    }

    /// The category tree has no cycles and is at most [`MAX_CATEGORY_DEPTH`] deep
    /// (decisions.md item 11), counting the subtree that moves with `id`.
    async fn check_category_parent(&self, id: Uuid, parent: Option<Uuid>) -> StoreResult<()> {
        let Some(parent) = parent else { return Ok(()) };
        if parent == id {
            return Err(StoreError::invalid("parent_category_id", "a category cannot be its own parent"));
        }
        let ancestors = match self.store.category_ancestors(parent).await {
            Ok(a) => a,
            Err(StoreError::NotFound { .. }) => return Err(StoreError::missing_reference("parent_category_id")),
            Err(e) => return Err(e),
        };
        if ancestors.iter().any(|a| a.id == id) {
            return Err(StoreError::invalid(
                "parent_category_id",
                "would make the category its own ancestor (a cycle)",
            ));
        }
        let parent_depth = ancestors.len() + 1;
        let subtree = self.subtree_height(id).await?;
        if parent_depth + subtree > MAX_CATEGORY_DEPTH {
            return Err(StoreError::invalid(
                "parent_category_id",
                format!("the category tree may be at most {MAX_CATEGORY_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    /// Levels in the subtree rooted at `id` (1 for a leaf or a category not yet stored).
    async fn subtree_height(&self, id: Uuid) -> StoreResult<usize> {
        let mut level = vec![id];
        let mut height = 0;
        while !level.is_empty() && height <= MAX_CATEGORY_DEPTH {
            height += 1;
            let mut next = Vec::new();
            for node in level {
                next.extend(self.store.category_children(Some(node)).await?.into_iter().map(|c| c.id));
            }
            level = next;
        }
        Ok(height)
    }
}

/// The entity as a preference, when it is one.
fn as_preference<E: Entity>(entity: &E) -> Option<&CustomerPreference> {
    (entity as &dyn Any).downcast_ref::<CustomerPreference>()
}

/// A preference as `E`, which the caller has checked it is.
fn from_preference<E: Entity>(p: CustomerPreference) -> E {
    *(Box::new(p) as Box<dyn Any>).downcast::<E>().expect("E is CustomerPreference")
}

/// Validates an entity: its own rules, then the rules every entity shares.
pub(crate) fn checked<E: Entity>(entity: &mut E) -> StoreResult<()> {
    entity.validate()?;
    crate::validate::no_nul(&entity.to_record())
}

/// Cuts `rows` (fetched with one extra) to `limit` and derives the next cursor from the last kept row.
fn paginate<T>(mut rows: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(&cursor_of) } else { None };
    Page { items: rows, next_cursor }
}
