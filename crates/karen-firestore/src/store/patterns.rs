//! The query patterns and lookups: listings, preferences (pattern 1), history (2), search (3),
//! analytics (4), threads, lookups through unique markers, and the idempotent message insert.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use karen_core::enums::{Direction, Medium};
use karen_core::model::*;
use karen_core::query::{HistoryQuery, ListQuery, MediumCounts, PackageItem, PreferenceQuery};
use karen_core::{Entity, Store, StoreResult, Value};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::*;
use crate::client::Attempt;
use crate::codec::{self, entity};
use crate::layout::{self, and, cmp, eq, order, query};

pub(super) async fn list<E: Entity>(store: &FirestoreStore, q: &ListQuery) -> StoreResult<Vec<E>> {
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
        let mut filters: Vec<Json> = q.filters.iter().map(|(n, v)| eq(&codec::field_path(E::KIND, n), v)).collect();
        if let Some(a) = &after {
            filters.push(cmp("id", "GREATER_THAN", json!({"stringValue": a})));
        }
        let query = query(layout::collection(E::KIND), group, and(filters), order(&[("id", false)]), Some(q.limit));
        let docs = store.client.query(&collection_parent, query, None).await?;
        let n = docs.len();
        for d in &docs {
            after = uuid_field(d, "id");
            let name = d.get("name").and_then(|n| n.as_str()).unwrap_or("");
            if layout::is_kind(E::KIND, store.client.path_of(name)) {
                out.push(entity(d)?);
            }
        }
        if n < q.limit as usize || out.len() >= q.limit as usize {
            out.truncate(q.limit as usize);
            return Ok(out);
        }
    }
}

pub(super) async fn active_preferences(
    store: &FirestoreStore,
    q: &PreferenceQuery,
) -> StoreResult<Vec<CustomerPreference>> {
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
    let rows: Vec<CustomerPreference> = store.docs(&format!("customers/{}", q.customer_id), query).await?;
    if rows.is_empty() && q.customer_must_exist {
        customer_exists(store, q.customer_id).await?;
    }
    Ok(rows.into_iter().filter(|p| p.expires_at.is_none_or(|e| e > q.now)).collect())
}

pub(super) async fn conversation_history(store: &FirestoreStore, q: &HistoryQuery) -> StoreResult<Vec<Conversation>> {
    let mut filters = vec![eq("customer_id", &Value::Uuid(q.customer_id))];
    if let Some(m) = q.medium {
        filters.push(eq("medium", &Value::Text(m.as_str().into())));
    }
    let mut query =
        query("conversations", false, and(filters), order(&[("message_timestamp", true), ("id", true)]), Some(q.limit));
    if let Some((t, id)) = q.before {
        query["startAt"] =
            json!({"values": [{"timestampValue": codec::ts(t)}, {"stringValue": id.to_string()}], "before": false});
    }
    let rows: Vec<Conversation> = store.docs("", query).await?;
    if rows.is_empty() && q.customer_must_exist {
        customer_exists(store, q.customer_id).await?;
    }
    Ok(rows)
}

pub(super) async fn thread_messages(store: &FirestoreStore, thread_id: &str) -> StoreResult<Vec<Conversation>> {
    let filter = eq("conversation_thread_id", &Value::Text(thread_id.into()));
    store
        .docs(
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

pub(super) async fn conversation_by_external_id(
    store: &FirestoreStore,
    medium: Medium,
    external_id: &str,
) -> StoreResult<Option<Conversation>> {
    let Some(marker) =
        store.client.get(&layout::conversation_external_marker(medium.as_str(), external_id), None).await?
    else {
        return Ok(None);
    };
    match owner_of(&marker) {
        Some(owner) => store.client.get(&owner, None).await?.as_ref().map(entity).transpose(),
        None => Ok(None),
    }
}

/// The message and its consent row in one commit. With `if_new`, the (medium, external_id)
/// marker is read in the transaction first: a message already stored is returned unchanged.
pub(super) async fn insert_message(
    store: &FirestoreStore,
    c: &Conversation,
    consent: Option<&ConsentRecord>,
    attachments: &[ConversationAttachment],
    if_new: bool,
) -> StoreResult<(Conversation, bool)> {
    check_size(c)?;
    let marker = c
        .external_id
        .as_deref()
        .map(|id| layout::conversation_external_marker(c.medium.as_str(), id))
        .filter(|_| if_new);
    let path = layout::path(c);
    let this = store.clone();
    let (c2, consent, attachments) = (c.clone(), consent.cloned(), attachments.to_vec());
    store
        .client
        .transaction(move |tx| -> Attempt<'_, (Conversation, bool)> {
            let (this, c, consent, marker, path, attachments) =
                (this.clone(), c2.clone(), consent.clone(), marker.clone(), path.clone(), attachments.clone());
            Box::pin(async move {
                if let Some(marker) = &marker {
                    if let Some(owner) = this.client.get(marker, Some(tx)).await?.as_ref().and_then(owner_of) {
                        if let Some(doc) = this.client.get(&owner, Some(tx)).await? {
                            return Ok(((entity(&doc)?, false), vec![]));
                        }
                    }
                }
                if this.client.get(&path, Some(tx)).await?.is_some() {
                    return Err(super::rules::id_conflict(EntityKind::Conversation));
                }
                let markers = layout::markers(&c);
                let referenced = rules::check_rules(&this, &c, &path, tx, &markers, &Default::default()).await?;
                let mut writes = vec![create_write(&this.client, &path, codec::fields(&c))];
                writes.extend(markers.iter().map(|m| create_write(&this.client, m, marker_fields(&path))));
                if let Some(consent) = &consent {
                    // Its customer is the message's (checked above); its message is this one.
                    writes.push(create_write(&this.client, &layout::path(consent), codec::fields(consent)));
                }
                for a in &attachments {
                    writes.push(create_write(&this.client, &layout::path(a), codec::fields(a)));
                }
                // The customer's last contact follows (the SQL backends do this by trigger),
                // from the customer document the reference check read.
                let customer_path = format!("customers/{}", c.customer_id);
                if let Some((_, doc)) = referenced.iter().find(|(field, _)| *field == "customer_id") {
                    let customer: Customer = entity(doc)?;
                    if customer.last_contact_at.is_none_or(|t| t < c.message_timestamp) {
                        writes.push(json!({
                            "update": {"name": this.client.name(&customer_path),
                                       "fields": {"last_contact_at": {"timestampValue": codec::ts(c.message_timestamp)}}},
                            "updateMask": {"fieldPaths": ["last_contact_at"]},
                            "currentDocument": {"exists": true}
                        }));
                    }
                }
                Ok(((c, true), writes))
            })
        })
        .await
}

pub(super) async fn category_children(
    store: &FirestoreStore,
    parent: Option<Uuid>,
) -> StoreResult<Vec<ServiceCategory>> {
    let filter = eq("parent_category_id", &parent.map_or(Value::Null, Value::Uuid));
    store
        .docs(
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

pub(super) async fn category_ancestors(store: &FirestoreStore, id: Uuid) -> StoreResult<Vec<ServiceCategory>> {
    let mut current: ServiceCategory = store.get(id).await?;
    let mut chain = Vec::new();
    while let Some(p) = current.parent_category_id {
        if chain.len() >= 64 {
            break;
        }
        current = store.get(p).await?;
        chain.push(current.clone());
    }
    Ok(chain)
}

pub(super) async fn package_items(store: &FirestoreStore, package_id: Uuid) -> StoreResult<Vec<PackageItem>> {
    let items: Vec<PackageService> = store
        .docs(
            &format!("service_packages/{package_id}"),
            query("services", false, None, order(&[("sort_order", false), ("id", false)]), None),
        )
        .await?;
    let paths: Vec<String> = items.iter().map(|i| format!("services/{}", i.service_id)).collect();
    let services = store.client.batch_get(&paths, None).await?;
    items
        .into_iter()
        .zip(services)
        .filter_map(|(item, doc)| doc.map(|d| entity(&d).map(|service| PackageItem { item, service })))
        .collect()
}

pub(super) async fn communication_counts(
    store: &FirestoreStore,
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
        store.docs("", query("conversations", false, filter, order(&[("message_timestamp", false)]), None)).await?;
    if messages.is_empty() {
        // Messages prove the customer exists; only an empty window needs the lookup.
        store.get::<Customer>(customer_id).await?;
    }
    let responses: Vec<String> = messages
        .iter()
        .filter(|m| m.direction == Direction::Inbound)
        .filter_map(|m| m.response_id.map(|r| format!("conversations/{r}")))
        .collect();
    let found = store.client.batch_get(&responses, None).await?;
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

pub(super) async fn customer_by_email(store: &FirestoreStore, email: &str) -> StoreResult<Option<Customer>> {
    let Some(marker) = store.client.get(&layout::email_marker(email), None).await? else { return Ok(None) };
    match owner_of(&marker) {
        Some(owner) => store.client.get(&owner, None).await?.as_ref().map(entity).transpose(),
        None => Ok(None),
    }
}

/// The primary e-mail through its (case-insensitive) marker; the secondary e-mail by equality
/// on the address as given and lower-cased (Firestore compares strings exactly).
pub(super) async fn customers_by_email(store: &FirestoreStore, email: &str) -> StoreResult<Vec<Customer>> {
    let mut found: Vec<Customer> = customer_by_email(store, email).await?.into_iter().collect();
    let mut forms = vec![email.to_string(), email.to_lowercase()];
    forms.dedup();
    let values = json!({"arrayValue": {"values": forms.iter().map(|f| json!({"stringValue": f})).collect::<Vec<_>>()}});
    let q = query("customers", false, Some(layout::cmp("secondary_email", "IN", values)), order(&[]), None);
    for c in store.docs::<Customer>("", q).await? {
        if !found.iter().any(|f| f.id == c.id) {
            found.push(c);
        }
    }
    found.sort_by_key(|c| c.id);
    Ok(found)
}

pub(super) async fn customers_by_phone(store: &FirestoreStore, phone: &str) -> StoreResult<Vec<Customer>> {
    let mut found: Vec<Customer> = Vec::new();
    for field in ["primary_phone", "secondary_phone"] {
        let q = query("customers", false, Some(eq(field, &Value::Text(phone.into()))), order(&[]), None);
        for c in store.docs::<Customer>("", q).await? {
            if !found.iter().any(|f| f.id == c.id) {
                found.push(c);
            }
        }
    }
    found.sort_by_key(|c| c.id);
    Ok(found)
}

pub(super) async fn customer_by_external_id(
    store: &FirestoreStore,
    external_id: &str,
) -> StoreResult<Option<Customer>> {
    let Some(marker) = store.client.get(&layout::customer_external_marker(external_id), None).await? else {
        return Ok(None);
    };
    match owner_of(&marker) {
        Some(owner) => store.client.get(&owner, None).await?.as_ref().map(entity).transpose(),
        None => Ok(None),
    }
}

/// Not found unless the customer exists. Firestore has no joins: rows of a customer prove it
/// exists, so only an empty answer costs this keyed read.
async fn customer_exists(store: &FirestoreStore, customer_id: Uuid) -> StoreResult<()> {
    match store.client.get(&format!("customers/{customer_id}"), None).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::not_found("customer", customer_id)),
    }
}
