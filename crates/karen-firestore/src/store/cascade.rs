//! Deletes with the design's cascades, in batches: children first, the parent last, so a
//! crashed delete is finished by running it again; references to deleted messages are cleared.

use karen_core::model::*;
use karen_core::{Entity, EntityKind, OnDelete, StoreError, StoreResult, Value};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::*;
use crate::codec::entity;
use crate::layout::{self, and, cmp, eq, order, query};

/// Deletes documents in batches (children before parents: the caller orders `paths`, the
/// parent last); each batch bumps the catalog version when `kind` is a catalog entity. The
/// children go without events and the parent alone in a commit with its `.deleted` event,
/// which covers them (docs/decisions.md K53).
async fn delete_all(store: &FirestoreStore, kind: EntityKind, mut paths: Vec<String>) -> StoreResult<()> {
    let parent = paths.pop();
    for chunk in paths.chunks(BATCH) {
        let mut writes: Vec<Json> = chunk.iter().map(|p| delete_write(&store.client, p)).collect();
        writes.extend(catalog_bump(&store.client, kind));
        store.client.commit_quiet(writes).await?;
    }
    if let Some(parent) = parent {
        let mut writes = vec![delete_write(&store.client, &parent)];
        writes.extend(catalog_bump(&store.client, kind));
        store.client.commit(writes).await?;
    }
    Ok(())
}

/// Every document path under a collection path (paged by id).
pub(super) async fn all_paths(
    store: &FirestoreStore,
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
        let docs = store.client.query(parent, q, None).await?;
        let n = docs.len();
        for d in docs {
            let name = d.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
            after = uuid_field(&d, "id");
            out.push((store.client.path_of(&name).to_string(), d));
        }
        if n < 300 {
            return Ok(out);
        }
    }
}

/// Clears references to deleted conversations (ON DELETE SET NULL), as the references table
/// declares them: other messages' `response_id`, preferences' `learned_from_interaction_id`,
/// consent rows' `conversation_id`. With `quiet` (the rows are the erased customer's own,
/// about to go too) the changes make no events.
async fn unlink_conversations(store: &FirestoreStore, ids: &[String], quiet: bool) -> StoreResult<()> {
    for chunk in ids.chunks(30) {
        let values =
            json!({"arrayValue": {"values": chunk.iter().map(|i| json!({"stringValue": i})).collect::<Vec<_>>()}});
        for r in EntityKind::Conversation.referrers().filter(|r| r.on_delete == OnDelete::SetNull) {
            let (collection, group, field) = (layout::collection(r.from), layout::parent(r.from).is_some(), r.field);
            let q = query(collection, group, Some(cmp(field, "IN", values.clone())), order(&[]), None);
            let docs = store.client.query("", q, None).await?;
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
                if quiet {
                    store.client.commit_quiet(w.to_vec()).await?;
                } else {
                    store.client.commit(w.to_vec()).await?;
                }
            }
        }
    }
    Ok(())
}

/// The paths (attachments, then markers, then messages) of conversations.
async fn conversation_paths(store: &FirestoreStore, convs: &[(String, Json)]) -> StoreResult<Vec<String>> {
    let mut paths = Vec::new();
    for (path, doc) in convs {
        for (p, _) in all_paths(store, path, "attachments", None).await? {
            paths.push(p);
        }
        let c: Conversation = entity(doc)?;
        paths.extend(layout::markers(&c));
    }
    paths.extend(convs.iter().map(|(p, _)| p.clone()));
    Ok(paths)
}

/// The documents of a customer's rows (markers included), children first, after clearing
/// references to their messages.
async fn customer_paths(store: &FirestoreStore, path: &str, id: Uuid) -> StoreResult<Vec<String>> {
    let mut paths = Vec::new();
    let convs = all_paths(store, "", "conversations", Some(eq("customer_id", &Value::Uuid(id)))).await?;
    let conv_ids: Vec<String> = convs.iter().filter_map(|(_, d)| uuid_field(d, "id")).collect();
    paths.extend(conversation_paths(store, &convs).await?);
    for (p, d) in all_paths(store, path, "preferences", None).await? {
        let pref: CustomerPreference = entity(&d)?;
        paths.extend(layout::markers(&pref));
        paths.push(p);
    }
    for kind in [EntityKind::PreferenceHistory, EntityKind::Consent] {
        let rows = all_paths(store, path, layout::collection(kind), None).await?;
        paths.extend(rows.into_iter().map(|(p, _)| p));
    }
    // Where customers merged into this one went (decisions.md item 25) goes with it.
    let merges = all_paths(store, "", super::merge::MERGES, Some(eq("customer_id", &Value::Uuid(id)))).await?;
    paths.extend(merges.into_iter().map(|(p, _)| p));
    unlink_conversations(store, &conv_ids, true).await?;
    Ok(paths)
}

/// Erases a customer as [`delete`] does, counting the rows of each entity that went (markers
/// are not rows).
pub(super) async fn delete_customer(store: &FirestoreStore, id: Uuid) -> StoreResult<Vec<(EntityKind, u64)>> {
    let (path, doc) =
        store.locate(EntityKind::Customer, id, None).await?.ok_or_else(|| StoreError::not_found("customer", id))?;
    let row: Customer = entity(&doc)?;
    let mut paths = customer_paths(store, &path, id).await?;
    let kinds = [
        EntityKind::ConversationAttachment,
        EntityKind::Consent,
        EntityKind::PreferenceHistory,
        EntityKind::CustomerPreference,
        EntityKind::Conversation,
    ];
    let mut removed: Vec<(EntityKind, u64)> =
        kinds.iter().map(|&k| (k, paths.iter().filter(|p| layout::is_kind(k, p)).count() as u64)).collect();
    removed.push((EntityKind::Customer, 1));
    paths.extend(layout::markers(&row));
    paths.push(path);
    delete_all(store, EntityKind::Customer, paths).await?;
    Ok(removed)
}

pub(super) async fn delete<E: Entity>(store: &FirestoreStore, id: Uuid) -> StoreResult<()> {
    let (path, doc) =
        store.locate(E::KIND, id, None).await?.ok_or_else(|| StoreError::not_found(E::KIND.name(), id))?;
    let row: E = entity(&doc)?;
    let mut paths: Vec<String> = Vec::new();
    match E::KIND {
        EntityKind::Customer => paths.extend(customer_paths(store, &path, id).await?),
        EntityKind::Conversation => {
            let me = vec![(path.clone(), doc.clone())];
            let mut conv_paths = conversation_paths(store, &me).await?;
            conv_paths.retain(|p| p != &path);
            paths.extend(conv_paths);
            unlink_conversations(store, &[id.to_string()], false).await?;
        }
        EntityKind::ServiceCategory => {
            for r in EntityKind::ServiceCategory.referrers().filter(|r| r.on_delete == OnDelete::Restrict) {
                let q =
                    query(layout::collection(r.from), false, Some(eq(r.field, &Value::Uuid(id))), order(&[]), Some(1));
                if !store.client.query("", q, None).await?.is_empty() {
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
            for (p, d) in all_paths(store, &path, "pricing_tiers", None).await? {
                let t: ServicePricingTier = entity(&d)?;
                paths.extend(layout::markers(&t));
                paths.push(p);
            }
            let q = query("services", true, Some(eq("service_id", &Value::Uuid(id))), order(&[]), None);
            for d in store.client.query("", q, None).await? {
                let name = d.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
                let p = store.client.path_of(&name).to_string();
                if layout::is_kind(EntityKind::PackageService, &p) {
                    let item: PackageService = entity(&d)?;
                    paths.extend(layout::markers(&item));
                    paths.push(p);
                }
            }
        }
        EntityKind::Webhook => {
            let deliveries = all_paths(
                store,
                "",
                layout::collection(EntityKind::WebhookDelivery),
                Some(eq("webhook_id", &Value::Uuid(id))),
            )
            .await?;
            paths.extend(deliveries.into_iter().map(|(p, _)| p));
        }
        EntityKind::ServicePackage => {
            for (p, d) in all_paths(store, &path, "services", None).await? {
                let item: PackageService = entity(&d)?;
                paths.extend(layout::markers(&item));
                paths.push(p);
            }
        }
        _ => {}
    }
    paths.extend(layout::markers(&row));
    paths.push(path);
    delete_all(store, E::KIND, paths).await
}
