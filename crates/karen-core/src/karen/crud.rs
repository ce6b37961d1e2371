//! Create, read, update, delete and list of any entity: validation and stamps before the store,
//! preference rows routed through the preference engine, history rows never edited.

use uuid::Uuid;

use super::{checked, paginate, Karen};
use crate::entity::{Entity, EntityKind};
use crate::error::{StoreError, StoreResult};
use crate::model::{Conversation, CustomerPreference};
use crate::patch::{self, Patch};
use crate::query::{cursor, ListQuery, Page, PageRequest};
use crate::store::Store;
use crate::value::Value;

impl<S: Store> Karen<S> {
    /// Validates, stamps and stores a new entity. A nil id gets a fresh UUIDv7.
    pub async fn create<E: Entity>(&self, mut entity: E) -> StoreResult<E> {
        if entity.id().is_nil() {
            entity.set_id(Uuid::now_v7());
        }
        let record = checked(&mut entity)?;
        entity.stamp(self.now(), true);
        self.check_relations(&entity, &record).await?;
        match E::KIND {
            EntityKind::CustomerPreference => {
                // Preference writes keep history and summaries: they go through the engine.
                let row = self.create_preference(CustomerPreference::from_record(entity.to_record())?).await?;
                E::from_record(row.to_record())
            }
            EntityKind::Conversation => {
                // Messages go through the consent rules (decisions.md item 24).
                let (row, _) = self.insert_message(Conversation::from_record(entity.to_record())?, &[], false).await?;
                E::from_record(row.to_record())
            }
            EntityKind::Consent => Err(StoreError::invalid(
                "consent",
                "the consent ledger is written by Karen::change_consent and by SMS keywords",
            )),
            _ => self.store.insert(&entity).await,
        }
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
    /// A customer merged into another is [`StoreError::Merged`], naming where it went.
    pub async fn get<E: Entity>(&self, id: Uuid) -> StoreResult<E> {
        match self.store.get(id).await {
            Err(StoreError::NotFound { .. }) if E::KIND == EntityKind::Customer => {
                match self.store.merge_record(id).await? {
                    Some(r) if r.done => Err(StoreError::Merged { id, into: r.customer_id }),
                    _ => Err(StoreError::not_found("customer", id)),
                }
            }
            other => other,
        }
    }

    /// Changes the fields named in `patch`; the whole result is validated before it is written.
    pub async fn update<E: Entity>(&self, id: Uuid, patch: &Patch) -> StoreResult<E> {
        match E::KIND {
            EntityKind::CustomerPreference => {
                let row = self.patch_preference(id, patch).await?;
                return E::from_record(row.to_record());
            }
            EntityKind::PreferenceHistory => {
                return Err(StoreError::invalid("preference_history", "history is never edited"));
            }
            EntityKind::Consent => {
                return Err(StoreError::invalid("consent", "the consent ledger is never edited; record a new change"));
            }
            _ => {}
        }
        let now = self.now();
        // The tree rule needs other rows: check against the patched value first.
        if let Some(field) = E::TREE_PARENT {
            if let Some(parent) = patch.get(field) {
                let parent: Option<Uuid> =
                    serde_json::from_value(parent.clone()).map_err(|e| StoreError::invalid(field, e.to_string()))?;
                self.check_tree_parent(field, id, parent).await?;
            }
        }
        // So does a cited message's customer (a row's customer never changes).
        if E::SAME_CUSTOMER.iter().any(|f| patch.contains_key(*f)) {
            let current: E = self.store.get(id).await?;
            let next = patch::apply(&current, patch)?;
            self.check_relations(&next, &next.to_record()).await?;
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
            EntityKind::CustomerPreference => self.delete_preference(id).await,
            EntityKind::Customer => self.erase_customer(id).await.map(|_| ()),
            EntityKind::PreferenceHistory => {
                Err(StoreError::invalid("preference_history", "history is never edited; it goes with its customer"))
            }
            EntityKind::Consent => {
                Err(StoreError::invalid("consent", "the consent ledger is never edited; it goes with its customer"))
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
        // The listing a cursor belongs to: the entity and its filters, in any order.
        let mut filters_key: Vec<String> = checked.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
        filters_key.sort();
        let listing = format!("list:{}:{}", E::KIND.name(), filters_key.join("&"));
        let after = page.cursor.as_deref().map(|c| cursor::decode_id(&cursor::open(&listing, c)?)).transpose()?;
        let rows = self.store.list::<E>(&ListQuery { filters: checked, after, limit: limit + 1 }).await?;
        Ok(paginate(rows, limit, |e| cursor::seal(&listing, &cursor::encode_id(e.id()))))
    }
}
