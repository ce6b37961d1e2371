//! Preference changes on Firestore: core's one preference transaction
//! ([`karen_core::preferences::transaction::apply`]) over [`FirestorePreferenceTx`], whose reads
//! run in a Firestore transaction and whose writes are buffered into its commit.

use karen_core::enums::PreferenceType;
use karen_core::model::{CustomerPreference, PreferenceHistory};
use karen_core::preferences::transaction::{self, Decide, PreferenceTx};
use karen_core::preferences::{PreferenceKey, SummaryUpdate};
use karen_core::{StoreError, StoreResult, Value};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::*;
use crate::client::Attempt;
use crate::codec::{self, entity};
use crate::layout::{self, and, eq, order, query};

/// A preference change inside Firestore transaction `tx`: reads go through the transaction
/// (so a concurrent commit aborts this one, which the client retries), writes are collected
/// for its commit.
struct FirestorePreferenceTx<'a> {
    store: &'a FirestoreStore,
    tx: &'a str,
    /// The key's marker document.
    marker: String,
    /// Whether the customer exists (read with the marker, in the same round trip).
    customer_exists: bool,
    /// The writes of the commit.
    writes: Vec<Json>,
}

impl FirestorePreferenceTx<'_> {
    /// A new or replaced row must name rows that exist.
    async fn check_references(&self, row: &CustomerPreference) -> StoreResult<()> {
        if !self.customer_exists {
            return Err(StoreError::missing_reference("customer_id"));
        }
        if let Some(conv) = row.learned_from_interaction_id {
            if self.store.client.get(&format!("conversations/{conv}"), Some(self.tx)).await?.is_none() {
                return Err(StoreError::missing_reference("learned_from_interaction_id"));
            }
        }
        Ok(())
    }
}

impl PreferenceTx for FirestorePreferenceTx<'_> {
    async fn current(&mut self, key: &PreferenceKey) -> StoreResult<Option<CustomerPreference>> {
        let customer_path = format!("customers/{}", key.customer_id);
        let found = self.store.client.batch_get(&[self.marker.clone(), customer_path], Some(self.tx)).await?;
        self.customer_exists = found[1].is_some();
        match found[0].as_ref().and_then(owner_of) {
            Some(owner) => self.store.client.get(&owner, Some(self.tx)).await?.as_ref().map(entity).transpose(),
            None => Ok(None),
        }
    }

    async fn insert(&mut self, row: &CustomerPreference) -> StoreResult<CustomerPreference> {
        self.check_references(row).await?;
        let path = layout::path(row);
        self.writes.push(create_write(&self.store.client, &path, codec::fields(row)));
        self.writes.push(create_write(&self.store.client, &self.marker, marker_fields(&path)));
        Ok(row.clone())
    }

    async fn replace(
        &mut self,
        _before: &CustomerPreference,
        after: &CustomerPreference,
    ) -> StoreResult<CustomerPreference> {
        self.check_references(after).await?;
        let path = layout::path(after);
        self.writes.push(set_write(&self.store.client, &path, codec::fields(after)));
        Ok(after.clone())
    }

    async fn delete(&mut self, row: &CustomerPreference) -> StoreResult<()> {
        self.writes.push(delete_write(&self.store.client, &layout::path(row)));
        self.writes.push(delete_write(&self.store.client, &self.marker));
        Ok(())
    }

    async fn append_history(&mut self, row: &PreferenceHistory) -> StoreResult<()> {
        if !self.customer_exists {
            return Err(StoreError::missing_reference("customer_id"));
        }
        self.writes.push(create_write(&self.store.client, &layout::path(row), codec::fields(row)));
        Ok(())
    }

    async fn set_summary(&mut self, customer_id: Uuid, s: &SummaryUpdate) -> StoreResult<()> {
        if !self.customer_exists {
            return Ok(());
        }
        let column = karen_core::preferences::summary::checked_column(s.column)?;
        let value = s.value.clone().map_or(json!({"nullValue": null}), |v| json!({"stringValue": v}));
        self.writes.push(json!({
            "update": {"name": self.store.client.name(&format!("customers/{customer_id}")),
                       "fields": {column: value, "updated_at": {"timestampValue": codec::ts(s.at)}}},
            "updateMask": {"fieldPaths": [column, "updated_at"]},
            "currentDocument": {"exists": true}
        }));
        Ok(())
    }
}

/// Runs one preference change in a Firestore transaction (retried when it aborts).
pub(super) async fn change_preference<R, F>(
    store: &FirestoreStore,
    key: &PreferenceKey,
    decide: F,
) -> StoreResult<(Option<CustomerPreference>, R)>
where
    R: Send + 'static,
    F: Decide<R>,
{
    let marker = layout::preference_marker(key);
    let decide = std::sync::Arc::new(decide);
    store
        .client
        .transaction(|tx| -> Attempt<'_, (Option<CustomerPreference>, R)> {
            let (this, key, decide, marker) = (store.clone(), key.clone(), decide.clone(), marker.clone());
            Box::pin(async move {
                let mut ptx =
                    FirestorePreferenceTx { store: &this, tx, marker, customer_exists: false, writes: Vec::new() };
                let out = transaction::apply(&mut ptx, &key, &*decide).await?;
                Ok((out, ptx.writes))
            })
        })
        .await
}

pub(super) async fn preference_history(
    store: &FirestoreStore,
    customer_id: Uuid,
    preference_type: Option<PreferenceType>,
    preference_key: Option<&str>,
) -> StoreResult<Vec<PreferenceHistory>> {
    let mut filters = Vec::new();
    if let Some(t) = preference_type {
        filters.push(eq("preference_type", &Value::Text(t.as_str().into())));
    }
    if let Some(k) = preference_key {
        filters.push(eq("preference_key", &Value::Text(k.into())));
    }
    let q =
        query("preference_history", false, and(filters), order(&[("superseded_at", true), ("id", true)]), Some(1000));
    store.docs(&format!("customers/{customer_id}"), q).await
}
