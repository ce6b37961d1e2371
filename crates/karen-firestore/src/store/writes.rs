//! Inserts, bulk inserts and updates: one transaction each, with the row's unique markers and
//! the catalog version bump in the same commit.

use karen_core::{Entity, EntityKind, StoreError, StoreResult};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::*;
use crate::client::Attempt;
use crate::codec::{self, entity};
use crate::layout;

pub(super) fn create_write(client: &Client, path: &str, fields: Json) -> Json {
    json!({"update": {"name": client.name(path), "fields": fields}, "currentDocument": {"exists": false}})
}

pub(super) fn set_write(client: &Client, path: &str, fields: Json) -> Json {
    json!({"update": {"name": client.name(path), "fields": fields}})
}

pub(super) fn delete_write(client: &Client, path: &str) -> Json {
    json!({"delete": client.name(path)})
}

/// The document whose `version` field every catalog write increments in its own commit
/// (docs/decisions.md K23); [`Store::catalog_version`] reads it.
const CATALOG_VERSION: &str = "_karen_meta/catalog";

/// Whether writes to rows of `kind` change what service search and quotes read.
fn is_catalog(kind: EntityKind) -> bool {
    matches!(
        kind,
        EntityKind::Service
            | EntityKind::ServiceCategory
            | EntityKind::ServicePricingTier
            | EntityKind::ServicePackage
            | EntityKind::PackageService
    )
}

/// A write that increments the catalog version when committed with the writes of `kind`.
pub(super) fn catalog_bump(client: &Client, kind: EntityKind) -> Option<Json> {
    is_catalog(kind).then(|| {
        json!({"transform": {
            "document": client.name(CATALOG_VERSION),
            "fieldTransforms": [{"fieldPath": "version", "increment": {"integerValue": "1"}}]
        }})
    })
}

pub(super) async fn insert<E: Entity>(store: &FirestoreStore, e: &E) -> StoreResult<E> {
    check_size(e)?;
    let path = layout::path(e);
    let markers = layout::markers(e);
    let fields = codec::fields(e);
    let this = store.clone();
    let e2 = e.clone();
    store
        .client
        .transaction(move |tx| -> Attempt<'_, ()> {
            let (this, e, path, markers, fields) =
                (this.clone(), e2.clone(), path.clone(), markers.clone(), fields.clone());
            Box::pin(async move {
                if this.client.get(&path, Some(tx)).await?.is_some() {
                    return Err(id_conflict(E::KIND));
                }
                rules::check_rules(&this, &e, &path, tx, &markers, &Default::default()).await?;
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
pub(super) async fn insert_many<E: Entity>(store: &FirestoreStore, rows: &[E]) -> StoreResult<()> {
    for chunk in rows.chunks(100) {
        for row in chunk {
            check_size(row)?;
        }
        let chunk: Vec<E> = chunk.to_vec();
        let this = store.clone();
        store
            .client
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
                                return Err(karen_core::unique_violation(layout::marker_constraint(m)));
                            }
                        }
                        rules::check_rules(&this, row, path, tx, &markers, &earlier).await?;
                        earlier.insert(path.clone());
                        writes.push(create_write(&this.client, path, codec::fields(row)));
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

pub(super) async fn update<E, F>(store: &FirestoreStore, id: Uuid, change: F) -> StoreResult<E>
where
    E: Entity,
    F: Fn(E) -> StoreResult<E> + Send + Sync + 'static,
{
    let this = store.clone();
    let change = std::sync::Arc::new(change);
    store
        .client
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
                rules::check_rules(&this, &next, &path, tx, &new_markers, &Default::default()).await?;
                let mut writes = vec![set_write(&this.client, &path, codec::fields(&next))];
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

pub(super) async fn catalog_version(store: &FirestoreStore) -> StoreResult<i64> {
    // A catalog never written has no document: version 0.
    let doc = store.client.get(CATALOG_VERSION, None).await?;
    Ok(codec::integer_field(doc.as_ref(), "version"))
}
