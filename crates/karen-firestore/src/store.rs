//! [`FirestoreStore`]: the store interface over Firestore. What Firestore lacks, this provides:
//! unique markers written in the same commit as the row, reference checks inside the
//! transaction, cascades in batches (children first, the parent last, so a crashed delete is
//! finished by running it again), and `updated_at` set by karen.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use karen_core::enums::{Direction, Medium, PreferenceType};
use karen_core::model::*;
use karen_core::preferences::{PreferenceChange, PreferenceKey, PreferenceWrite};
use karen_core::query::{
    HistoryQuery, ListQuery, MediumCounts, PackageItem, PreferenceQuery, ServiceHit, ServiceSearchQuery,
};
use karen_core::{Entity, EntityKind, OnDelete, Store, StoreError, StoreResult, Value};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::client::{Attempt, Client};
use crate::codec::{self, entity};
use crate::layout::{self, and, cmp, eq, order, query};

/// Writes per commit when deleting in batches (Firestore allows 500).
const BATCH: usize = 450;

/// The largest message content stored: a Firestore document is at most 1 MiB with its other
/// fields.
const MAX_CONTENT_BYTES: usize = 1_000_000;

/// How many in-process locks transactions are spread over.
const STRIPES: usize = 64;

/// karen's Firestore store for one project.
#[derive(Debug, Clone)]
pub struct FirestoreStore {
    client: Client,
    /// Transactions on the same key from this process take turns here instead of fighting over
    /// Firestore's locks (the emulator times such fights out); other processes rely on
    /// Firestore's own transaction retries.
    stripes: std::sync::Arc<Vec<tokio::sync::Mutex<()>>>,
}

fn stripes() -> std::sync::Arc<Vec<tokio::sync::Mutex<()>>> {
    std::sync::Arc::new((0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect())
}

/// Refuses what a Firestore document cannot hold, naming the field, before anything is sent.
fn check_size<E: Entity>(e: &E) -> StoreResult<()> {
    if let Some(c) = (e as &dyn std::any::Any).downcast_ref::<Conversation>() {
        if c.content.len() > MAX_CONTENT_BYTES {
            return Err(StoreError::invalid(
                "content",
                format!("must be at most {MAX_CONTENT_BYTES} bytes on the Firestore backend (its documents are limited to 1 MiB)"),
            ));
        }
    }
    Ok(())
}

fn create_write(client: &Client, path: &str, fields: Json) -> Json {
    json!({"update": {"name": client.name(path), "fields": fields}, "currentDocument": {"exists": false}})
}

fn set_write(client: &Client, path: &str, fields: Json) -> Json {
    json!({"update": {"name": client.name(path), "fields": fields}})
}

fn delete_write(client: &Client, path: &str) -> Json {
    json!({"delete": client.name(path)})
}

/// The document whose `version` field every catalog write increments in its own commit
/// (docs/decisions.md K23); [`Store::catalog_version`] reads it.
const CATALOG_VERSION: &str = "_karen_meta/catalog";

/// Whether writes to rows of `kind` change what service search reads.
fn is_catalog(kind: EntityKind) -> bool {
    matches!(kind, EntityKind::Service | EntityKind::ServiceCategory | EntityKind::ServicePricingTier)
}

/// A write that increments the catalog version when committed with the writes of `kind`.
fn catalog_bump(client: &Client, kind: EntityKind) -> Option<Json> {
    is_catalog(kind).then(|| {
        json!({"transform": {
            "document": client.name(CATALOG_VERSION),
            "fieldTransforms": [{"fieldPath": "version", "increment": {"integerValue": "1"}}]
        }})
    })
}

fn marker_fields(owner: &str) -> Json {
    json!({"owner": {"stringValue": owner}})
}

fn owner_of(doc: &Json) -> Option<String> {
    doc.pointer("/fields/owner/stringValue").and_then(|v| v.as_str()).map(str::to_string)
}

fn uuid_field(doc: &Json, field: &str) -> Option<String> {
    doc.pointer(&format!("/fields/{field}/stringValue")).and_then(|v| v.as_str()).map(str::to_string)
}

impl FirestoreStore {
    /// A store for `project`: the emulator of `FIRESTORE_EMULATOR_HOST` when set, else Google's
    /// service with the access token of `GOOGLE_OAUTH_ACCESS_TOKEN` (for example from
    /// `gcloud auth print-access-token`).
    pub fn connect(project: &str) -> StoreResult<Self> {
        let emulator = std::env::var("FIRESTORE_EMULATOR_HOST").ok().filter(|h| !h.is_empty());
        let token = std::env::var("GOOGLE_OAUTH_ACCESS_TOKEN").ok();
        if emulator.is_none() && token.is_none() {
            return Err(StoreError::Unavailable(
                "set FIRESTORE_EMULATOR_HOST for the emulator, or GOOGLE_OAUTH_ACCESS_TOKEN for Google's service"
                    .into(),
            ));
        }
        Ok(FirestoreStore { client: Client::new(project, emulator.as_deref(), token)?, stripes: stripes() })
    }

    /// A store over an explicit emulator host (tests).
    pub fn emulator(host: &str, project: &str) -> StoreResult<Self> {
        Ok(FirestoreStore { client: Client::new(project, Some(host), None)?, stripes: stripes() })
    }

    /// The REST client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Records every structured query into `log` (the index-coverage test).
    pub fn record_queries(&mut self, log: std::sync::Arc<std::sync::Mutex<Vec<Json>>>) {
        self.client.record_queries(log);
    }

    /// Takes this process's turn for transactions on `key`.
    async fn turn(&self, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        self.stripes[(h.finish() as usize) % STRIPES].lock().await
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

    /// Checks markers and references of `e` inside `tx`; `own` is the document that may
    /// already hold a marker (an update).
    /// Checks, inside transaction `tx`, that no other document holds `e`'s unique markers and
    /// that every row `e` refers to exists, either stored or among the `earlier` paths of the
    /// same commit (a bulk insert of a category tree names parents before children).
    async fn check_rules<E: Entity>(
        &self,
        e: &E,
        own: &str,
        tx: &str,
        markers: &[String],
        earlier: &std::collections::HashSet<String>,
    ) -> StoreResult<()> {
        let record = e.to_record();
        let refs: Vec<(&'static str, String)> = E::KIND
            .references()
            .filter_map(|r| match record.values.iter().find(|(n, _)| *n == r.field) {
                Some((_, Value::Uuid(u))) => Some((r.field, format!("{}/{u}", layout::collection(r.to)))),
                _ => None,
            })
            .filter(|(_, path)| !earlier.contains(path))
            .collect();
        let mut paths: Vec<String> = markers.to_vec();
        paths.extend(refs.iter().map(|(_, p)| p.clone()));
        let found = self.client.batch_get(&paths, Some(tx)).await?;
        for (marker, doc) in markers.iter().zip(&found) {
            if let Some(doc) = doc {
                if owner_of(doc).as_deref() != Some(own) {
                    return Err(karen_sql::unique_violation(layout::marker_constraint(marker)));
                }
            }
        }
        for ((field, _), doc) in refs.iter().zip(&found[markers.len()..]) {
            if doc.is_none() {
                return Err(StoreError::missing_reference(*field));
            }
        }
        Ok(())
    }

    /// Deletes documents in batches (children before parents: the caller orders `paths`); each
    /// batch bumps the catalog version when `kind` is a catalog entity.
    async fn delete_all(&self, kind: EntityKind, paths: Vec<String>) -> StoreResult<()> {
        for chunk in paths.chunks(BATCH) {
            let mut writes: Vec<Json> = chunk.iter().map(|p| delete_write(&self.client, p)).collect();
            writes.extend(catalog_bump(&self.client, kind));
            self.client.commit(writes).await?;
        }
        Ok(())
    }

    /// Every document path under a collection path (paged by id).
    async fn all_paths(
        &self,
        parent: &str,
        collection: &str,
        filter: Option<Json>,
    ) -> StoreResult<Vec<(String, Json)>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut filters: Vec<Json> = filter.iter().cloned().collect();
            if let Some(a) = &after {
                filters.push(cmp("id", "GREATER_THAN", json!({"stringValue": a})));
            }
            let q = query(collection, false, and(filters), order(&[("id", false)]), Some(300));
            let docs = self.client.query(parent, q, None).await?;
            let n = docs.len();
            for d in docs {
                let name = d.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
                after = uuid_field(&d, "id");
                out.push((self.client.path_of(&name).to_string(), d));
            }
            if n < 300 {
                return Ok(out);
            }
        }
    }

    /// Clears references to deleted conversations (ON DELETE SET NULL): other messages'
    /// `response_id` and preferences' `learned_from_interaction_id`.
    async fn unlink_conversations(&self, ids: &[String]) -> StoreResult<()> {
        for chunk in ids.chunks(30) {
            let values =
                json!({"arrayValue": {"values": chunk.iter().map(|i| json!({"stringValue": i})).collect::<Vec<_>>()}});
            for (collection, group, field) in
                [("conversations", false, "response_id"), ("preferences", true, "learned_from_interaction_id")]
            {
                let q = query(collection, group, Some(cmp(field, "IN", values.clone())), order(&[]), None);
                let docs = self.client.query("", q, None).await?;
                let mut writes = Vec::new();
                for d in docs {
                    let name = d.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
                    writes.push(json!({
                        "update": {"name": name, "fields": {field: {"nullValue": null}}},
                        "updateMask": {"fieldPaths": [field]},
                        "currentDocument": {"exists": true}
                    }));
                }
                for w in writes.chunks(BATCH) {
                    self.client.commit(w.to_vec()).await?;
                }
            }
        }
        Ok(())
    }

    /// The paths (attachments, then markers, then messages) of conversations.
    async fn conversation_paths(&self, convs: &[(String, Json)]) -> StoreResult<Vec<String>> {
        let mut paths = Vec::new();
        for (path, doc) in convs {
            for (p, _) in self.all_paths(path, "attachments", None).await? {
                paths.push(p);
            }
            let c: Conversation = entity(doc)?;
            paths.extend(layout::markers(&c));
        }
        paths.extend(convs.iter().map(|(p, _)| p.clone()));
        Ok(paths)
    }
}

fn id_conflict(kind: EntityKind) -> StoreError {
    StoreError::Conflict { entity: kind.name(), rule: "id must be unique".into() }
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

    async fn insert<E: Entity>(&self, e: &E) -> StoreResult<E> {
        check_size(e)?;
        let path = layout::path(e);
        let _turn = self.turn(&path).await;
        let markers = layout::markers(e);
        let fields = codec::fields(e, &layout::extra_fields(e));
        let this = self.clone();
        let e2 = e.clone();
        self.client
            .transaction(move |tx| -> Attempt<'_, ()> {
                let (this, e, path, markers, fields) =
                    (this.clone(), e2.clone(), path.clone(), markers.clone(), fields.clone());
                Box::pin(async move {
                    if this.client.get(&path, Some(tx)).await?.is_some() {
                        return Err(id_conflict(E::KIND));
                    }
                    this.check_rules(&e, &path, tx, &markers, &Default::default()).await?;
                    let mut writes = vec![create_write(&this.client, &path, fields)];
                    writes.extend(markers.iter().map(|m| create_write(&this.client, m, marker_fields(&path))));
                    writes.extend(catalog_bump(&this.client, E::KIND));
                    Ok(((), writes))
                })
            })
            .await?;
        Ok(e.clone())
    }

    /// Atomic per chunk of 100 rows (a Firestore commit takes at most 500 writes, markers
    /// included); the conformance suite's batches fit in one chunk.
    async fn insert_many<E: Entity>(&self, rows: &[E]) -> StoreResult<()> {
        for chunk in rows.chunks(100) {
            for row in chunk {
                check_size(row)?;
            }
            let chunk: Vec<E> = chunk.to_vec();
            let this = self.clone();
            self.client
                .transaction(move |tx| -> Attempt<'_, ()> {
                    let (this, chunk) = (this.clone(), chunk.clone());
                    Box::pin(async move {
                        let mut writes = Vec::new();
                        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
                        let paths: Vec<String> = chunk.iter().map(|r| layout::path(r)).collect();
                        for (existing, row) in this.client.batch_get(&paths, Some(tx)).await?.iter().zip(&chunk) {
                            if existing.is_some() || !seen.insert(layout::path(row)) {
                                return Err(id_conflict(E::KIND));
                            }
                        }
                        let mut earlier = std::collections::HashSet::new();
                        for (row, path) in chunk.iter().zip(&paths) {
                            let markers = layout::markers(row);
                            for m in &markers {
                                if !seen.insert(m.clone()) {
                                    return Err(karen_sql::unique_violation(layout::marker_constraint(m)));
                                }
                            }
                            this.check_rules(row, path, tx, &markers, &earlier).await?;
                            earlier.insert(path.clone());
                            writes.push(create_write(
                                &this.client,
                                path,
                                codec::fields(row, &layout::extra_fields(row)),
                            ));
                            writes.extend(markers.iter().map(|m| create_write(&this.client, m, marker_fields(path))));
                        }
                        writes.extend(catalog_bump(&this.client, E::KIND));
                        Ok(((), writes))
                    })
                })
                .await?;
        }
        Ok(())
    }

    async fn get<E: Entity>(&self, id: Uuid) -> StoreResult<E> {
        match self.locate(E::KIND, id, None).await? {
            Some((_, doc)) => entity(&doc),
            None => Err(StoreError::not_found(E::KIND.name(), id)),
        }
    }

    async fn update<E, F>(&self, id: Uuid, change: F) -> StoreResult<E>
    where
        E: Entity,
        F: Fn(E) -> StoreResult<E> + Send + Sync + 'static,
    {
        let _turn = self.turn(&id.to_string()).await;
        let this = self.clone();
        let change = std::sync::Arc::new(change);
        self.client
            .transaction(move |tx| -> Attempt<'_, E> {
                let (this, change) = (this.clone(), change.clone());
                Box::pin(async move {
                    let (path, doc) = this
                        .locate(E::KIND, id, Some(tx))
                        .await?
                        .ok_or_else(|| StoreError::not_found(E::KIND.name(), id))?;
                    let current: E = entity(&doc)?;
                    let old_markers = layout::markers(&current);
                    let next = change(current)?;
                    check_size(&next)?;
                    let new_markers = layout::markers(&next);
                    this.check_rules(&next, &path, tx, &new_markers, &Default::default()).await?;
                    let mut writes =
                        vec![set_write(&this.client, &path, codec::fields(&next, &layout::extra_fields(&next)))];
                    for m in &new_markers {
                        if !old_markers.contains(m) {
                            writes.push(create_write(&this.client, m, marker_fields(&path)));
                        }
                    }
                    for m in &old_markers {
                        if !new_markers.contains(m) {
                            writes.push(delete_write(&this.client, m));
                        }
                    }
                    writes.extend(catalog_bump(&this.client, E::KIND));
                    Ok((next, writes))
                })
            })
            .await
    }

    async fn delete<E: Entity>(&self, id: Uuid) -> StoreResult<()> {
        let (path, doc) =
            self.locate(E::KIND, id, None).await?.ok_or_else(|| StoreError::not_found(E::KIND.name(), id))?;
        let row: E = entity(&doc)?;
        let mut paths: Vec<String> = Vec::new();
        match E::KIND {
            EntityKind::Customer => {
                let convs = self.all_paths("", "conversations", Some(eq("customer_id", &Value::Uuid(id)))).await?;
                let conv_ids: Vec<String> = convs.iter().filter_map(|(_, d)| uuid_field(d, "id")).collect();
                paths.extend(self.conversation_paths(&convs).await?);
                for (p, d) in self.all_paths(&path, "preferences", None).await? {
                    let pref: CustomerPreference = entity(&d)?;
                    paths.extend(layout::markers(&pref));
                    paths.push(p);
                }
                paths.extend(self.all_paths(&path, "preference_history", None).await?.into_iter().map(|(p, _)| p));
                self.unlink_conversations(&conv_ids).await?;
            }
            EntityKind::Conversation => {
                let me = vec![(path.clone(), doc.clone())];
                let mut conv_paths = self.conversation_paths(&me).await?;
                conv_paths.retain(|p| p != &path);
                paths.extend(conv_paths);
                self.unlink_conversations(&[id.to_string()]).await?;
            }
            EntityKind::ServiceCategory => {
                for r in EntityKind::ServiceCategory.referrers().filter(|r| r.on_delete == OnDelete::Restrict) {
                    let q = query(
                        layout::collection(r.from),
                        false,
                        Some(eq(r.field, &Value::Uuid(id))),
                        order(&[]),
                        Some(1),
                    );
                    if !self.client.query("", q, None).await?.is_empty() {
                        return Err(StoreError::InUse {
                            field: r.field.to_string(),
                            rule: format!(
                                "the row is still referenced by {}.{}; delete or move those first",
                                r.from.table(),
                                r.field
                            ),
                        });
                    }
                }
            }
            EntityKind::Service => {
                for (p, d) in self.all_paths(&path, "pricing_tiers", None).await? {
                    let t: ServicePricingTier = entity(&d)?;
                    paths.extend(layout::markers(&t));
                    paths.push(p);
                }
                let q = query("services", true, Some(eq("service_id", &Value::Uuid(id))), order(&[]), None);
                for d in self.client.query("", q, None).await? {
                    let name = d.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
                    let p = self.client.path_of(&name).to_string();
                    if layout::is_kind(EntityKind::PackageService, &p) {
                        let item: PackageService = entity(&d)?;
                        paths.extend(layout::markers(&item));
                        paths.push(p);
                    }
                }
            }
            EntityKind::ServicePackage => {
                for (p, d) in self.all_paths(&path, "services", None).await? {
                    let item: PackageService = entity(&d)?;
                    paths.extend(layout::markers(&item));
                    paths.push(p);
                }
            }
            _ => {}
        }
        paths.extend(layout::markers(&row));
        paths.push(path);
        self.delete_all(E::KIND, paths).await
    }

    async fn list<E: Entity>(&self, q: &ListQuery) -> StoreResult<Vec<E>> {
        let parent_filter = layout::parent(E::KIND)
            .and_then(|(field, _)| q.filters.iter().find(|(n, _)| *n == field).map(|(_, v)| v.clone()));
        let (collection_parent, group) = match (&parent_filter, layout::parent(E::KIND)) {
            (Some(Value::Uuid(pid)), Some((_, pk))) => (format!("{}/{pid}", layout::collection(pk)), false),
            (_, Some(_)) => (String::new(), true),
            (_, None) => (String::new(), false),
        };
        let mut out = Vec::new();
        let mut after = q.after.map(|a| a.to_string());
        loop {
            let mut filters: Vec<Json> = q.filters.iter().map(|(n, v)| eq(n, v)).collect();
            if let Some(a) = &after {
                filters.push(cmp("id", "GREATER_THAN", json!({"stringValue": a})));
            }
            let query = query(layout::collection(E::KIND), group, and(filters), order(&[("id", false)]), Some(q.limit));
            let docs = self.client.query(&collection_parent, query, None).await?;
            let n = docs.len();
            for d in &docs {
                after = uuid_field(d, "id");
                let name = d.get("name").and_then(|n| n.as_str()).unwrap_or("");
                if layout::is_kind(E::KIND, self.client.path_of(name)) {
                    out.push(entity(d)?);
                }
            }
            if n < q.limit as usize || out.len() >= q.limit as usize {
                out.truncate(q.limit as usize);
                return Ok(out);
            }
        }
    }

    async fn change_preference<F>(&self, key: &PreferenceKey, decide: F) -> StoreResult<Option<CustomerPreference>>
    where
        F: Fn(Option<CustomerPreference>) -> StoreResult<PreferenceChange> + Send + Sync + 'static,
    {
        let _turn = self.turn(&layout::preference_marker(key)).await;
        let this = self.clone();
        let key = key.clone();
        let decide = std::sync::Arc::new(decide);
        self.client
            .transaction(move |tx| -> Attempt<'_, Option<CustomerPreference>> {
                let (this, key, decide) = (this.clone(), key.clone(), decide.clone());
                Box::pin(async move {
                    let marker = layout::preference_marker(&key);
                    let customer_path = format!("customers/{}", key.customer_id);
                    let found = this.client.batch_get(&[marker.clone(), customer_path.clone()], Some(tx)).await?;
                    let customer = found[1].clone();
                    let current: Option<(String, CustomerPreference)> = match found[0].as_ref().and_then(owner_of) {
                        Some(owner) => match this.client.get(&owner, Some(tx)).await? {
                            Some(doc) => Some((owner, entity(&doc)?)),
                            None => None,
                        },
                        None => None,
                    };
                    let change = decide(current.as_ref().map(|(_, p)| p.clone()))?;
                    let mut writes = Vec::new();
                    let after = match change.write {
                        PreferenceWrite::Keep => current.map(|(_, p)| p),
                        PreferenceWrite::Upsert(row) => {
                            let path = layout::path(row.as_ref());
                            if customer.is_none() {
                                return Err(StoreError::missing_reference("customer_id"));
                            }
                            if let Some(conv) = row.learned_from_interaction_id {
                                if this.client.get(&format!("conversations/{conv}"), Some(tx)).await?.is_none() {
                                    return Err(StoreError::missing_reference("learned_from_interaction_id"));
                                }
                            }
                            let fields = codec::fields(row.as_ref(), &[]);
                            if current.is_some() {
                                writes.push(set_write(&this.client, &path, fields));
                            } else {
                                writes.push(create_write(&this.client, &path, fields));
                                writes.push(create_write(&this.client, &marker, marker_fields(&path)));
                            }
                            Some(*row)
                        }
                        PreferenceWrite::Delete => {
                            if let Some((path, _)) = &current {
                                writes.push(delete_write(&this.client, path));
                                writes.push(delete_write(&this.client, &marker));
                            }
                            None
                        }
                    };
                    for h in &change.history {
                        writes.push(create_write(&this.client, &layout::path(h), codec::fields(h, &[])));
                    }
                    if let (Some(s), Some(_)) = (&change.summary, &customer) {
                        let column = karen_core::preferences::summary::checked_column(s.column)?;
                        let value = s.value.clone().map_or(json!({"nullValue": null}), |v| json!({"stringValue": v}));
                        writes.push(json!({
                            "update": {"name": this.client.name(&customer_path),
                                       "fields": {column: value, "updated_at": {"timestampValue": codec::ts(s.at)}}},
                            "updateMask": {"fieldPaths": [column, "updated_at"]},
                            "currentDocument": {"exists": true}
                        }));
                    }
                    Ok((after, writes))
                })
            })
            .await
    }

    async fn preference_history(
        &self,
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
        let q = query(
            "preference_history",
            false,
            and(filters),
            order(&[("superseded_at", true), ("id", true)]),
            Some(1000),
        );
        self.docs(&format!("customers/{customer_id}"), q).await
    }

    async fn active_preferences(&self, q: &PreferenceQuery) -> StoreResult<Vec<CustomerPreference>> {
        let mut filters = vec![eq("is_active", &Value::Bool(true))];
        if let Some(t) = q.preference_type {
            filters.push(eq("preference_type", &Value::Text(t.as_str().into())));
        }
        let query = query(
            "preferences",
            false,
            and(filters),
            order(&[("priority", false), ("confidence_score", true), ("id", false)]),
            None,
        );
        let rows: Vec<CustomerPreference> = self.docs(&format!("customers/{}", q.customer_id), query).await?;
        Ok(rows.into_iter().filter(|p| p.expires_at.is_none_or(|e| e > q.now)).collect())
    }

    async fn conversation_history(&self, q: &HistoryQuery) -> StoreResult<Vec<Conversation>> {
        let mut filters = vec![eq("customer_id", &Value::Uuid(q.customer_id))];
        if let Some(m) = q.medium {
            filters.push(eq("medium", &Value::Text(m.as_str().into())));
        }
        let mut query = query(
            "conversations",
            false,
            and(filters),
            order(&[("message_timestamp", true), ("id", true)]),
            Some(q.limit),
        );
        if let Some((t, id)) = q.before {
            query["startAt"] =
                json!({"values": [{"timestampValue": codec::ts(t)}, {"stringValue": id.to_string()}], "before": false});
        }
        self.docs("", query).await
    }

    async fn thread_messages(&self, thread_id: &str) -> StoreResult<Vec<Conversation>> {
        let filter = eq("conversation_thread_id", &Value::Text(thread_id.into()));
        self.docs(
            "",
            query(
                "conversations",
                false,
                Some(filter),
                order(&[("message_timestamp", false), ("id", false)]),
                Some(1000),
            ),
        )
        .await
    }

    async fn conversation_by_external_id(
        &self,
        medium: Medium,
        external_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        let Some(marker) =
            self.client.get(&layout::conversation_external_marker(medium.as_str(), external_id), None).await?
        else {
            return Ok(None);
        };
        match owner_of(&marker) {
            Some(owner) => self.client.get(&owner, None).await?.as_ref().map(entity).transpose(),
            None => Ok(None),
        }
    }

    async fn insert_conversation_if_new(&self, c: &Conversation) -> StoreResult<(Conversation, bool)> {
        let Some(external_id) = c.external_id.clone() else {
            return Ok((self.insert(c).await?, true));
        };
        check_size(c)?;
        let marker = layout::conversation_external_marker(c.medium.as_str(), &external_id);
        let _turn = self.turn(&marker).await;
        let this = self.clone();
        let c2 = c.clone();
        self.client
            .transaction(move |tx| -> Attempt<'_, (Conversation, bool)> {
                let (this, c, marker) = (this.clone(), c2.clone(), marker.clone());
                Box::pin(async move {
                    if let Some(owner) = this.client.get(&marker, Some(tx)).await?.as_ref().and_then(owner_of) {
                        if let Some(doc) = this.client.get(&owner, Some(tx)).await? {
                            return Ok(((entity(&doc)?, false), vec![]));
                        }
                    }
                    let path = layout::path(&c);
                    let markers = layout::markers(&c);
                    this.check_rules(&c, &path, tx, &markers, &Default::default()).await?;
                    let mut writes = vec![create_write(&this.client, &path, codec::fields(&c, &[]))];
                    writes.extend(markers.iter().map(|m| create_write(&this.client, m, marker_fields(&path))));
                    Ok(((c, true), writes))
                })
            })
            .await
    }

    async fn search_services(&self, q: &ServiceSearchQuery) -> StoreResult<Vec<ServiceHit>> {
        let terms =
            json!({"arrayValue": {"values": q.terms.iter().map(|t| json!({"stringValue": t})).collect::<Vec<_>>()}});
        let mut cursor = q.after.as_ref().map(|a| (a.is_featured, a.name.clone(), a.id.to_string()));
        let mut hits: Vec<Service> = Vec::new();
        let mut categories: HashMap<Uuid, Option<ServiceCategory>> = HashMap::new();
        loop {
            let filter = and(vec![
                cmp("_search_terms", "ARRAY_CONTAINS_ANY", terms.clone()),
                eq("is_active", &Value::Bool(true)),
            ]);
            let mut query = query(
                "services",
                false,
                filter,
                order(&[("is_featured", true), ("name", false), ("id", false)]),
                Some(q.limit),
            );
            if let Some((f, n, id)) = &cursor {
                query["startAt"] =
                    json!({"values": [{"booleanValue": f}, {"stringValue": n}, {"stringValue": id}], "before": false});
            }
            let page: Vec<Service> = self.docs("", query).await?;
            let full = page.len() == q.limit as usize;
            let mut unknown: Vec<Uuid> =
                page.iter().map(|s| s.category_id).filter(|c| !categories.contains_key(c)).collect();
            unknown.sort();
            unknown.dedup();
            let paths: Vec<String> = unknown.iter().map(|c| format!("service_categories/{c}")).collect();
            for (cid, doc) in unknown.iter().zip(self.client.batch_get(&paths, None).await?) {
                categories.insert(*cid, doc.as_ref().map(entity).transpose()?);
            }
            for s in page {
                cursor = Some((s.is_featured, s.name.clone(), s.id.to_string()));
                if categories.get(&s.category_id).and_then(|c| c.as_ref()).is_some_and(|c| c.is_active) {
                    hits.push(s);
                }
            }
            if !full || hits.len() >= q.limit as usize {
                break;
            }
        }
        hits.truncate(q.limit as usize);
        let mut prices: HashMap<Uuid, rust_decimal::Decimal> = HashMap::new();
        for chunk in hits.chunks(30) {
            let ids = json!({"arrayValue": {"values": chunk.iter().map(|s| json!({"stringValue": s.id.to_string()})).collect::<Vec<_>>()}});
            let filter = and(vec![cmp("service_id", "IN", ids), eq("is_default", &Value::Bool(true))]);
            let tiers: Vec<ServicePricingTier> =
                self.docs("", query("pricing_tiers", true, filter, order(&[]), None)).await?;
            prices.extend(tiers.into_iter().map(|t| (t.service_id, t.price)));
        }
        Ok(hits
            .into_iter()
            .map(|s| ServiceHit {
                category_name: categories
                    .get(&s.category_id)
                    .and_then(|c| c.as_ref())
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                price: prices.get(&s.id).copied(),
                service: s,
            })
            .collect())
    }

    async fn catalog_version(&self) -> StoreResult<i64> {
        let doc = self.client.get(CATALOG_VERSION, None).await?;
        // Firestore sends 64-bit integers as strings; a catalog never written has no document.
        Ok(doc
            .as_ref()
            .and_then(|d| d.pointer("/fields/version/integerValue"))
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    async fn category_children(&self, parent: Option<Uuid>) -> StoreResult<Vec<ServiceCategory>> {
        let filter = eq("parent_category_id", &parent.map_or(Value::Null, Value::Uuid));
        self.docs(
            "",
            query(
                "service_categories",
                false,
                Some(filter),
                order(&[("sort_order", false), ("name", false), ("id", false)]),
                None,
            ),
        )
        .await
    }

    async fn category_ancestors(&self, id: Uuid) -> StoreResult<Vec<ServiceCategory>> {
        let mut current: ServiceCategory = self.get(id).await?;
        let mut chain = Vec::new();
        while let Some(p) = current.parent_category_id {
            if chain.len() >= 64 {
                break;
            }
            current = self.get(p).await?;
            chain.push(current.clone());
        }
        Ok(chain)
    }

    async fn package_items(&self, package_id: Uuid) -> StoreResult<Vec<PackageItem>> {
        let items: Vec<PackageService> = self
            .docs(
                &format!("service_packages/{package_id}"),
                query("services", false, None, order(&[("sort_order", false), ("id", false)]), None),
            )
            .await?;
        let paths: Vec<String> = items.iter().map(|i| format!("services/{}", i.service_id)).collect();
        let services = self.client.batch_get(&paths, None).await?;
        items
            .into_iter()
            .zip(services)
            .filter_map(|(item, doc)| doc.map(|d| entity(&d).map(|service| PackageItem { item, service })))
            .collect()
    }

    async fn communication_counts(
        &self,
        customer_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<MediumCounts>> {
        let filter = and(vec![
            eq("customer_id", &Value::Uuid(customer_id)),
            cmp("message_timestamp", "GREATER_THAN_OR_EQUAL", json!({"timestampValue": codec::ts(from)})),
            cmp("message_timestamp", "LESS_THAN_OR_EQUAL", json!({"timestampValue": codec::ts(to)})),
        ]);
        let messages: Vec<Conversation> =
            self.docs("", query("conversations", false, filter, order(&[("message_timestamp", false)]), None)).await?;
        if messages.is_empty() {
            // Messages prove the customer exists; only an empty window needs the lookup.
            self.get::<Customer>(customer_id).await?;
        }
        let responses: Vec<String> = messages
            .iter()
            .filter(|m| m.direction == Direction::Inbound)
            .filter_map(|m| m.response_id.map(|r| format!("conversations/{r}")))
            .collect();
        let found = self.client.batch_get(&responses, None).await?;
        let mut answered: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
        for doc in found.into_iter().flatten() {
            let r: Conversation = entity(&doc)?;
            answered.insert(r.id, r.message_timestamp);
        }
        let mut out: Vec<MediumCounts> = Vec::new();
        for m in &messages {
            let entry = match out.iter().position(|c| c.medium == m.medium) {
                Some(i) => &mut out[i],
                None => {
                    out.push(MediumCounts {
                        medium: m.medium,
                        inbound: 0,
                        outbound: 0,
                        responded: 0,
                        response_delays_us: Vec::new(),
                    });
                    out.last_mut().expect("pushed")
                }
            };
            match m.direction {
                Direction::Outbound => entry.outbound += 1,
                Direction::Inbound => {
                    entry.inbound += 1;
                    if let Some(r) = m.response_id {
                        entry.responded += 1;
                        if let Some(at) = answered.get(&r) {
                            entry
                                .response_delays_us
                                .push((*at - m.message_timestamp).num_microseconds().unwrap_or(i64::MAX));
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    async fn customer_by_email(&self, email: &str) -> StoreResult<Option<Customer>> {
        let Some(marker) = self.client.get(&layout::email_marker(email), None).await? else { return Ok(None) };
        match owner_of(&marker) {
            Some(owner) => self.client.get(&owner, None).await?.as_ref().map(entity).transpose(),
            None => Ok(None),
        }
    }

    async fn customers_by_phone(&self, phone: &str) -> StoreResult<Vec<Customer>> {
        let mut found: Vec<Customer> = Vec::new();
        for field in ["primary_phone", "secondary_phone"] {
            let q = query("customers", false, Some(eq(field, &Value::Text(phone.into()))), order(&[]), None);
            for c in self.docs::<Customer>("", q).await? {
                if !found.iter().any(|f| f.id == c.id) {
                    found.push(c);
                }
            }
        }
        found.sort_by_key(|c| c.id);
        Ok(found)
    }

    async fn customer_by_external_id(&self, external_id: &str) -> StoreResult<Option<Customer>> {
        let Some(marker) = self.client.get(&layout::customer_external_marker(external_id), None).await? else {
            return Ok(None);
        };
        match owner_of(&marker) {
            Some(owner) => self.client.get(&owner, None).await?.as_ref().map(entity).transpose(),
            None => Ok(None),
        }
    }
}
