//! The change-event log on Firestore (docs/decisions.md K53). Firestore has no triggers, so
//! the client does what the SQL backends' triggers do: every commit it sends is read for the
//! writes to evented documents (customers, their preferences and consents, conversations and
//! their attachments), and the events of those writes go into the same commit, numbered from
//! the counter document `_karen_meta/events`, which the commit's transaction reads and
//! advances. Two transactions that both read the counter cannot both commit (the later one is
//! aborted and retried), so positions are commit order with no gaps, and a query for the
//! events after a position never passes one that commits later.
//!
//! A row that goes because its parent went has no event of its own: karen's cascades delete
//! children in commits without events and the parent last, in a commit with one. A
//! customer's `last_contact_at` follows its messages and makes no `customer.updated`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use karen_core::enums::EventType;
use karen_core::events::{Event, EventQuery};
use karen_core::{StoreError, StoreResult};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::client::Client;
use crate::codec;

/// The counter document: `position` is the newest event's.
pub const COUNTER: &str = "_karen_meta/events";
/// The collection of events, one document per event named by its zero-padded position.
pub const EVENTS: &str = "_karen_events";

/// The customer fields that follow other rows and make no event when they alone change.
const DERIVED_CUSTOMER_FIELDS: [&str; 2] = ["last_contact_at", "updated_at"];

/// The evented kinds, by their place in the layout.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Customer,
    Preference,
    Consent,
    Conversation,
    Attachment,
}

/// What a write does to its document.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    /// Created (the write requires that the document does not exist).
    Create,
    /// Updated (the write requires that it exists).
    Update,
    /// Written without a precondition: created or updated, as the document was before.
    Set,
    /// Deleted, if it existed.
    Delete,
}

/// One write to an evented document.
#[derive(Debug, Clone)]
struct Change {
    kind: Kind,
    op: Op,
    path: String,
    entity_id: Uuid,
    /// The customer when the path or the written fields name it.
    customer: Option<Uuid>,
    /// For an attachment: its conversation's path.
    conversation: Option<String>,
}

fn kind_of(path: &str) -> Option<(Kind, Option<Uuid>, Option<String>)> {
    let parts: Vec<&str> = path.split('/').collect();
    let id = |s: &str| Uuid::try_parse(s).ok();
    match parts.as_slice() {
        ["customers", c] => Some((Kind::Customer, Some(id(c)?), None)),
        ["customers", c, "preferences", _] => Some((Kind::Preference, Some(id(c)?), None)),
        ["customers", c, "consents", _] => Some((Kind::Consent, Some(id(c)?), None)),
        ["conversations", _] => Some((Kind::Conversation, None, None)),
        ["conversations", cv, "attachments", _] => Some((Kind::Attachment, None, Some(format!("conversations/{cv}")))),
        _ => None,
    }
}

fn customer_field(fields: Option<&Json>) -> Option<Uuid> {
    fields?.pointer("/customer_id/stringValue")?.as_str().and_then(|s| Uuid::try_parse(s).ok())
}

/// The evented writes of a commit, in write order.
fn changes(client: &Client, writes: &[Json]) -> Vec<Change> {
    let mut out = Vec::new();
    for w in writes {
        let (name, op, fields) = if let Some(update) = w.get("update") {
            let exists = w.pointer("/currentDocument/exists").and_then(Json::as_bool);
            let op = match exists {
                Some(false) => Op::Create,
                Some(true) => Op::Update,
                None => Op::Set,
            };
            (update.get("name").and_then(Json::as_str), op, update.get("fields"))
        } else if let Some(name) = w.get("delete") {
            (name.as_str(), Op::Delete, None)
        } else {
            continue;
        };
        let Some(name) = name else { continue };
        let path = client.path_of(name).to_string();
        let Some((kind, customer, conversation)) = kind_of(&path) else { continue };
        let Some(entity_id) = path.rsplit('/').next().and_then(|s| Uuid::try_parse(s).ok()) else { continue };
        if kind == Kind::Customer && op != Op::Delete {
            if let Some(mask) = w.pointer("/updateMask/fieldPaths").and_then(Json::as_array) {
                if mask.iter().all(|f| f.as_str().is_some_and(|f| DERIVED_CUSTOMER_FIELDS.contains(&f))) {
                    continue;
                }
            }
        }
        let customer = customer.or_else(|| if kind == Kind::Conversation { customer_field(fields) } else { None });
        out.push(Change { kind, op, path, entity_id, customer, conversation });
    }
    // A merge moves a row to its new customer's path: written there and deleted here in one
    // commit, it is one row that changed, as on the SQL backends.
    let moved: HashSet<(Uuid, u8)> =
        out.iter().filter(|c| c.op != Op::Delete).map(|c| (c.entity_id, c.kind as u8)).collect();
    let deleted: HashSet<(Uuid, u8)> =
        out.iter().filter(|c| c.op == Op::Delete).map(|c| (c.entity_id, c.kind as u8)).collect();
    out.retain(|c| c.op != Op::Delete || !moved.contains(&(c.entity_id, c.kind as u8)));
    for c in &mut out {
        if c.op != Op::Delete && deleted.contains(&(c.entity_id, c.kind as u8)) {
            c.op = Op::Update;
        }
    }
    out
}

/// Whether a commit of `writes` carries events (and so must read the counter).
pub(crate) fn has_events(client: &Client, writes: &[Json]) -> bool {
    !changes(client, writes).is_empty()
}

/// Adds to `writes`, committed in transaction `tx`, the events they make and the counter's
/// advance; reads (in the transaction, one round trip) the counter and the documents the
/// events need: whether a document written without a precondition or deleted existed, and
/// the customer of a message or of an attachment's message that the writes do not name.
pub(crate) async fn append(client: &Client, tx: &str, writes: &mut Vec<Json>) -> StoreResult<()> {
    let changes = changes(client, writes);
    if changes.is_empty() {
        return Ok(());
    }
    // Customers of messages this commit writes, for their attachments.
    let written_customers: HashMap<String, Uuid> = changes
        .iter()
        .filter(|c| c.kind == Kind::Conversation && c.op != Op::Delete)
        .filter_map(|c| Some((c.path.clone(), c.customer?)))
        .collect();
    let mut wanted: Vec<String> = vec![COUNTER.to_string()];
    let mut seen: HashSet<String> = HashSet::new();
    let mut want = |p: &str| {
        if seen.insert(p.to_string()) {
            wanted.push(p.to_string());
        }
    };
    for c in &changes {
        if matches!(c.op, Op::Set | Op::Delete) || (c.kind == Kind::Conversation && c.customer.is_none()) {
            want(&c.path);
        }
        if let Some(conv) = &c.conversation {
            if !written_customers.contains_key(conv) {
                want(conv);
            }
        }
    }
    let docs = client.batch_get(&wanted, Some(tx)).await?;
    let found: HashMap<&str, Option<&Json>> =
        wanted.iter().map(String::as_str).zip(docs.iter().map(Option::as_ref)).collect();
    let mut position = codec::integer_field(found[COUNTER], "position");
    let now = Utc::now();
    for c in &changes {
        let before = found.get(c.path.as_str()).copied().flatten();
        let verb = match c.op {
            Op::Create => "created",
            Op::Update => "updated",
            Op::Set if before.is_some() => "updated",
            Op::Set => "created",
            Op::Delete if before.is_some() => "deleted",
            Op::Delete => continue,
        };
        let customer = match (&c.conversation, c.customer) {
            (_, Some(customer)) => Some(customer),
            (Some(conv), None) => written_customers
                .get(conv)
                .copied()
                .or_else(|| customer_field(found.get(conv.as_str()).copied().flatten().and_then(|d| d.get("fields")))),
            (None, None) => customer_field(before.and_then(|d| d.get("fields"))),
        };
        // An attachment whose message is gone went with it.
        if c.kind == Kind::Attachment && customer.is_none() {
            continue;
        }
        let prefix = match c.kind {
            Kind::Customer => "customer",
            Kind::Preference => "preference",
            Kind::Consent => "consent",
            Kind::Conversation => "conversation",
            Kind::Attachment => "attachment",
        };
        let event_type: EventType = format!("{prefix}.{verb}").parse()?;
        position += 1;
        let event = Event {
            position,
            id: Uuid::new_v4(),
            event_type,
            entity_id: c.entity_id,
            customer_id: customer,
            occurred_at: now,
        };
        writes.push(json!({
            "update": {"name": client.name(&event_path(position)), "fields": event_fields(&event)},
            "currentDocument": {"exists": false}
        }));
    }
    writes.push(json!({
        "update": {"name": client.name(COUNTER), "fields": {"position": {"integerValue": position.to_string()}}}
    }));
    Ok(())
}

fn event_path(position: i64) -> String {
    format!("{EVENTS}/{position:019}")
}

fn event_fields(e: &Event) -> Json {
    json!({
        "position": {"integerValue": e.position.to_string()},
        "id": {"stringValue": e.id.to_string()},
        "type": {"stringValue": e.event_type.as_str()},
        "entity_id": {"stringValue": e.entity_id.to_string()},
        "customer_id": e.customer_id.map_or(json!({"nullValue": null}), |c| json!({"stringValue": c.to_string()})),
        "occurred_at": {"timestampValue": codec::ts(e.occurred_at)},
    })
}

fn corrupt(field: &str) -> StoreError {
    StoreError::invalid(field, "stored value of an event document is not what karen writes")
}

fn event_of(doc: &Json) -> StoreResult<Event> {
    let f = &doc["fields"];
    let text = |name: &str| f.pointer(&format!("/{name}/stringValue")).and_then(Json::as_str);
    let uuid = |name: &str| text(name).and_then(|s| Uuid::try_parse(s).ok()).ok_or_else(|| corrupt(name));
    let at = f
        .pointer("/occurred_at/timestampValue")
        .and_then(Json::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .ok_or_else(|| corrupt("occurred_at"))?;
    Ok(Event {
        position: codec::integer_field(Some(doc), "position"),
        id: uuid("id")?,
        event_type: text("type").ok_or_else(|| corrupt("type"))?.parse().map_err(|_| corrupt("type"))?,
        entity_id: uuid("entity_id")?,
        customer_id: text("customer_id").map(|s| Uuid::try_parse(s).map_err(|_| corrupt("customer_id"))).transpose()?,
        occurred_at: at.with_timezone(&Utc),
    })
}

/// The structured query of the events `q` asks for: position after `q.after`, in position
/// order, with the customer and the types as equality and `IN` filters.
pub(crate) fn events_query(q: &EventQuery) -> Json {
    let mut filters = vec![json!({"fieldFilter": {"field": {"fieldPath": "position"}, "op": "GREATER_THAN",
        "value": {"integerValue": q.after.to_string()}}})];
    if let Some(c) = q.customer_id {
        filters.push(json!({"fieldFilter": {"field": {"fieldPath": "customer_id"}, "op": "EQUAL",
            "value": {"stringValue": c.to_string()}}}));
    }
    if !q.types.is_empty() {
        let values: Vec<Json> = q.types.iter().map(|t| json!({"stringValue": t.as_str()})).collect();
        filters.push(json!({"fieldFilter": {"field": {"fieldPath": "type"}, "op": "IN",
            "value": {"arrayValue": {"values": values}}}}));
    }
    let filter = if filters.len() == 1 {
        filters.remove(0)
    } else {
        json!({"compositeFilter": {"op": "AND", "filters": filters}})
    };
    json!({
        "from": [{"collectionId": EVENTS}],
        "where": filter,
        "orderBy": [{"field": {"fieldPath": "position"}, "direction": "ASCENDING"}],
        "limit": q.limit,
    })
}

/// The events `q` asks for.
pub(crate) async fn events(client: &Client, q: &EventQuery) -> StoreResult<Vec<Event>> {
    client.query("", events_query(q), None).await?.iter().map(event_of).collect()
}

/// The newest event's position, 0 before the first.
pub(crate) async fn last_position(client: &Client) -> StoreResult<i64> {
    Ok(codec::integer_field(client.get(COUNTER, None).await?.as_ref(), "position"))
}

/// Deletes the events older than `before`, in commits of 300.
pub(crate) async fn prune(client: &Client, before: DateTime<Utc>) -> StoreResult<u64> {
    let mut removed = 0;
    loop {
        let q = json!({
            "from": [{"collectionId": EVENTS}],
            "where": {"fieldFilter": {"field": {"fieldPath": "occurred_at"}, "op": "LESS_THAN",
                      "value": {"timestampValue": codec::ts(before)}}},
            "limit": 300,
        });
        let docs = client.query("", q, None).await?;
        if docs.is_empty() {
            return Ok(removed);
        }
        removed += docs.len() as u64;
        let writes =
            docs.iter().filter_map(|d| d.get("name").and_then(Json::as_str)).map(|n| json!({"delete": n})).collect();
        client.commit_quiet(writes).await?;
    }
}
