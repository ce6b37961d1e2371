//! [`MergeTx`] over Firestore: a merge too large for one commit, made of atomic steps that a rerun
//! completes (docs/decisions.md K48). `customer_merges/{B}` records the merge in progress
//! (`done: false`) from the first step, so no other merge of either customer can start; each
//! later step moves rows of B to A in commits that create the row under A and delete it under B
//! together; the last step, a transaction, checks that nothing of B is left, writes A, deletes B
//! and marks the record done. A crash at any point leaves B (with some rows moved) and a record
//! that the next `merge A B` resumes; rows of B never point at a customer that is gone.

use chrono::{DateTime, Utc};
use karen_core::merge::{MergeRecord, MergeTx, MovedCounts, PreferenceMerge, PreferenceStep};
use karen_core::model::{ConsentRecord, Customer, CustomerPreference, PreferenceHistory};
use karen_core::{Entity, EntityKind, StoreError, StoreResult, Value};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::cascade::all_paths;
use super::*;
use crate::client::Attempt;
use crate::codec::{self, entity};
use crate::layout::{self, and, eq};

/// The collection of merge records, one per merged-away customer, by its id.
pub(super) const MERGES: &str = "customer_merges";

/// Rows moved per commit (two writes each: create under A, delete under B).
const MOVES_PER_COMMIT: usize = 200;

fn record_path(id: Uuid) -> String {
    format!("{MERGES}/{id}")
}

fn customer_path(id: Uuid) -> String {
    format!("customers/{id}")
}

/// Reads a merge record document.
fn record_of(doc: &Json) -> StoreResult<MergeRecord> {
    let id = |field: &str| {
        uuid_field(doc, field).and_then(|s| Uuid::try_parse(&s).ok()).ok_or_else(|| StoreError::Corrupt {
            entity: "customer_merge",
            field: field.into(),
            rule: "stored value is not a UUID".into(),
        })
    };
    let merged_at = doc
        .pointer("/fields/merged_at/timestampValue")
        .and_then(|t| t.as_str())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| StoreError::Corrupt {
            entity: "customer_merge",
            field: "merged_at".into(),
            rule: "stored value is not a timestamp".into(),
        })?;
    let done = doc.pointer("/fields/done/booleanValue").and_then(|b| b.as_bool()).unwrap_or(false);
    Ok(MergeRecord { duplicate_id: id("duplicate_id")?, customer_id: id("customer_id")?, merged_at, done })
}

fn record_fields(r: &MergeRecord) -> Json {
    json!({
        "id": {"stringValue": r.duplicate_id.to_string()},
        "duplicate_id": {"stringValue": r.duplicate_id.to_string()},
        "customer_id": {"stringValue": r.customer_id.to_string()},
        "merged_at": {"timestampValue": codec::ts(r.merged_at)},
        "done": {"booleanValue": r.done}
    })
}

/// The merge record of `id`, read outside a transaction.
pub(super) async fn merge_record(store: &FirestoreStore, id: Uuid) -> StoreResult<Option<MergeRecord>> {
    store.client.get(&record_path(id), None).await?.as_ref().map(record_of).transpose()
}

/// Merge records whose customer is `id` and whose `done` is `done` (none: either), inside `tx`
/// when given.
async fn records_into(
    store: &FirestoreStore,
    id: Uuid,
    done: Option<bool>,
    tx: Option<&str>,
) -> StoreResult<Vec<(String, MergeRecord)>> {
    let mut filters = vec![eq("customer_id", &Value::Uuid(id))];
    if let Some(d) = done {
        filters.push(eq("done", &Value::Bool(d)));
    }
    let q = layout::query(MERGES, false, and(filters), layout::order(&[]), None);
    let mut out = Vec::new();
    for d in store.client.query("", q, tx).await? {
        let name = d.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
        out.push((store.client.path_of(&name).to_string(), record_of(&d)?));
    }
    Ok(out)
}

/// A merge over Firestore, step by step.
pub(super) struct FirestoreMergeTx<'s> {
    /// The store.
    pub store: &'s FirestoreStore,
}

impl FirestoreMergeTx<'_> {
    async fn rows_of<E: Entity>(&self, customer: Uuid) -> StoreResult<Vec<E>> {
        let parent = customer_path(customer);
        all_paths(self.store, &parent, layout::collection(E::KIND), None)
            .await?
            .iter()
            .map(|(_, d)| entity(d))
            .collect()
    }

    /// Moves every row of `E` under B to A, a commit per [`MOVES_PER_COMMIT`] rows; `extra`
    /// writes join the first commit.
    async fn move_rows<E: Entity>(&self, b: Uuid, a: Uuid, extra: Vec<Json>) -> StoreResult<()> {
        let client = &self.store.client;
        let parent = customer_path(b);
        let rows = all_paths(self.store, &parent, layout::collection(E::KIND), None).await?;
        let mut extra = Some(extra);
        for chunk in rows.chunks(MOVES_PER_COMMIT) {
            let mut writes = extra.take().unwrap_or_default();
            for (path, doc) in chunk {
                let mut moved: E = entity(doc)?;
                let mut record = moved.to_record();
                for (name, value) in record.values.iter_mut() {
                    if *name == "customer_id" {
                        *value = Value::Uuid(a);
                    }
                }
                moved = E::from_record(record)?;
                writes.push(set_write(client, &layout::path(&moved), codec::fields(&moved)));
                writes.push(delete_write(client, path));
            }
            client.commit(writes).await?;
        }
        if let Some(w) = extra.filter(|w| !w.is_empty()) {
            client.commit(w).await?;
        }
        Ok(())
    }
}

impl MergeTx for FirestoreMergeTx<'_> {
    async fn customers(&mut self, a: Uuid, b: Uuid) -> StoreResult<(Option<Customer>, Option<Customer>)> {
        let docs = self.store.client.batch_get(&[customer_path(a), customer_path(b)], None).await?;
        let mut found = docs.iter().map(|d| d.as_ref().map(entity::<Customer>).transpose());
        Ok((found.next().unwrap_or(Ok(None))?, found.next().unwrap_or(Ok(None))?))
    }

    async fn merge_record(&mut self, id: Uuid) -> StoreResult<Option<MergeRecord>> {
        merge_record(self.store, id).await
    }

    async fn begin(&mut self, a: Uuid, b: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        let _turn = self.store.merge_turn().await;
        let this = self.store.clone();
        self.store
            .client
            .transaction(move |tx| -> Attempt<'_, ()> {
                let this = this.clone();
                Box::pin(async move {
                    let paths = [customer_path(a), customer_path(b), record_path(a), record_path(b)];
                    let docs = this.client.batch_get(&paths, Some(tx)).await?;
                    if docs[0].is_none() {
                        return Err(StoreError::not_found("customer", a));
                    }
                    if docs[1].is_none() {
                        return Err(StoreError::Reference {
                            field: "duplicate_id".into(),
                            rule: format!("customer {b} does not exist"),
                        });
                    }
                    if let Some(r) = docs[2].as_ref().map(record_of).transpose()? {
                        return Err(StoreError::Conflict {
                            entity: "customer",
                            rule: format!("customer {a} is being merged into customer {}", r.customer_id),
                        });
                    }
                    if let Some(r) = docs[3].as_ref().map(record_of).transpose()? {
                        if r.customer_id == a {
                            return Ok(((), Vec::new())); // resuming an unfinished merge
                        }
                        return Err(StoreError::Conflict {
                            entity: "customer",
                            rule: format!("customer {b} is being merged into customer {}", r.customer_id),
                        });
                    }
                    if let Some((_, r)) = records_into(&this, b, Some(false), Some(tx)).await?.first() {
                        return Err(StoreError::Conflict {
                            entity: "customer",
                            rule: format!("customer {} is being merged into customer {b}", r.duplicate_id),
                        });
                    }
                    let record = MergeRecord { duplicate_id: b, customer_id: a, merged_at: at, done: false };
                    Ok(((), vec![create_write(&this.client, &record_path(b), record_fields(&record))]))
                })
            })
            .await
    }

    async fn preferences(&mut self, customer: Uuid) -> StoreResult<Vec<CustomerPreference>> {
        self.rows_of(customer).await
    }

    async fn consents(&mut self, customer: Uuid) -> StoreResult<Vec<ConsentRecord>> {
        self.rows_of(customer).await
    }

    async fn counts(&mut self, b: Uuid) -> StoreResult<MovedCounts> {
        let convs = all_paths(self.store, "", "conversations", Some(eq("customer_id", &Value::Uuid(b)))).await?;
        let mut attachments = 0;
        for (path, _) in &convs {
            attachments += all_paths(self.store, path, "attachments", None).await?.len() as u64;
        }
        let history =
            all_paths(self.store, &customer_path(b), layout::collection(EntityKind::PreferenceHistory), None).await?;
        Ok(MovedCounts { conversations: convs.len() as u64, attachments, history: history.len() as u64 })
    }

    async fn move_consents(&mut self, b: Uuid, a: Uuid, added: &[ConsentRecord]) -> StoreResult<()> {
        let client = &self.store.client;
        let extra = added.iter().map(|r| set_write(client, &layout::path(r), codec::fields(r))).collect();
        self.move_rows::<ConsentRecord>(b, a, extra).await
    }

    async fn merge_preference(
        &mut self,
        merge: &PreferenceMerge,
        a: Uuid,
        a_row: Option<&CustomerPreference>,
        b_row: &CustomerPreference,
    ) -> StoreResult<()> {
        let client = &self.store.client;
        // One commit; a document written twice (A's marker of a key whose row is replaced)
        // keeps its last write, as Firestore takes one write per document.
        let mut writes: Vec<(String, Json)> = Vec::new();
        let mut put = |path: String, w: Json| match writes.iter_mut().find(|(p, _)| *p == path) {
            Some(slot) => slot.1 = w,
            None => writes.push((path, w)),
        };
        for step in karen_core::merge::preference_steps(merge, a_row, b_row) {
            match step {
                PreferenceStep::Delete(row) => {
                    for m in layout::markers(row) {
                        put(m.clone(), delete_write(client, &m));
                    }
                    let path = layout::path(row);
                    put(path.clone(), delete_write(client, &path));
                }
                PreferenceStep::Move(row) => {
                    let moved = CustomerPreference { customer_id: a, ..row.clone() };
                    let (from, to) = (layout::path(row), layout::path(&moved));
                    for m in layout::markers(row) {
                        put(m.clone(), delete_write(client, &m));
                    }
                    put(from.clone(), delete_write(client, &from));
                    for m in layout::markers(&moved) {
                        put(m.clone(), set_write(client, &m, marker_fields(&to)));
                    }
                    put(to.clone(), set_write(client, &to, codec::fields(&moved)));
                }
                PreferenceStep::Archive(h) => {
                    let path = layout::path::<PreferenceHistory>(h);
                    put(path.clone(), set_write(client, &path, codec::fields(h)));
                }
            }
        }
        client.commit(writes.into_iter().map(|(_, w)| w).collect()).await
    }

    async fn move_history(&mut self, b: Uuid, a: Uuid) -> StoreResult<()> {
        self.move_rows::<PreferenceHistory>(b, a, Vec::new()).await
    }

    async fn move_conversations(&mut self, b: Uuid, a: Uuid) -> StoreResult<()> {
        let client = &self.store.client;
        let convs = all_paths(self.store, "", "conversations", Some(eq("customer_id", &Value::Uuid(b)))).await?;
        for chunk in convs.chunks(BATCH) {
            let writes = chunk
                .iter()
                .map(|(path, _)| {
                    json!({
                        "update": {"name": client.name(path), "fields": {"customer_id": {"stringValue": a.to_string()}}},
                        "updateMask": {"fieldPaths": ["customer_id"]},
                        "currentDocument": {"exists": true}
                    })
                })
                .collect();
            client.commit(writes).await?;
        }
        Ok(())
    }

    async fn finish(&mut self, b: &Customer, _a: &Customer, merged: &Customer) -> StoreResult<()> {
        let _turn = self.store.merge_turn().await;
        let this = self.store.clone();
        let (b, merged) = (b.clone(), merged.clone());
        self.store
            .client
            .transaction(move |tx| -> Attempt<'_, ()> {
                let (this, b, merged) = (this.clone(), b.clone(), merged.clone());
                Box::pin(async move {
                    let (a_path, b_path) = (customer_path(merged.id), customer_path(b.id));
                    let docs = this.client.batch_get(&[a_path.clone(), b_path.clone()], Some(tx)).await?;
                    let current: Customer = docs[0]
                        .as_ref()
                        .map(entity)
                        .transpose()?
                        .ok_or_else(|| StoreError::not_found("customer", merged.id))?;
                    // Rows of B written while the merge ran would be left pointing at nothing.
                    let left = layout::query(
                        "conversations",
                        false,
                        Some(eq("customer_id", &Value::Uuid(b.id))),
                        layout::order(&[]),
                        Some(1),
                    );
                    let mut remaining = this.client.query("", left, Some(tx)).await?.len();
                    for kind in [EntityKind::CustomerPreference, EntityKind::PreferenceHistory, EntityKind::Consent] {
                        let q = layout::query(layout::collection(kind), false, None, layout::order(&[]), Some(1));
                        remaining += this.client.query(&b_path, q, Some(tx)).await?.len();
                    }
                    if remaining > 0 {
                        return Err(StoreError::Conflict {
                            entity: "customer",
                            rule: format!(
                                "rows of customer {} were written while it was being merged; run the merge again",
                                b.id
                            ),
                        });
                    }
                    let (old_a, old_b, new) =
                        (layout::markers(&current), layout::markers(&b), layout::markers(&merged));
                    let mut writes = vec![set_write(&this.client, &a_path, codec::fields(&merged))];
                    let added: Vec<String> = new.iter().filter(|m| !old_a.contains(m)).cloned().collect();
                    let held = this.client.batch_get(&added, Some(tx)).await?;
                    for (m, doc) in added.iter().zip(held) {
                        if let Some(owner) = doc.as_ref().and_then(owner_of) {
                            if owner != a_path && owner != b_path {
                                return Err(karen_core::unique_violation(layout::marker_constraint(m)));
                            }
                        }
                        writes.push(set_write(&this.client, m, marker_fields(&a_path)));
                    }
                    for m in old_a.iter().chain(&old_b).filter(|m| !new.contains(m)) {
                        writes.push(delete_write(&this.client, m));
                    }
                    for (path, r) in records_into(&this, b.id, None, Some(tx)).await? {
                        let moved = MergeRecord { customer_id: merged.id, ..r };
                        writes.push(set_write(&this.client, &path, record_fields(&moved)));
                    }
                    writes.push(delete_write(&this.client, &b_path));
                    let record = this.client.get(&record_path(b.id), Some(tx)).await?;
                    let mut record =
                        record.as_ref().map(record_of).transpose()?.ok_or_else(|| StoreError::Conflict {
                            entity: "customer",
                            rule: format!("the merge of customer {} has no record", b.id),
                        })?;
                    record.done = true;
                    writes.push(set_write(&this.client, &record_path(b.id), record_fields(&record)));
                    Ok(((), writes))
                })
            })
            .await
    }
}
