//! Where each entity lives (schema-design.md sections 1.3, 2.3, 3.6), the unique markers that
//! stand in for UNIQUE constraints, and query builders.

use karen_core::model::*;
use karen_core::{Entity, EntityKind, Value};
use serde_json::{json, Value as Json};

use crate::codec;

/// The collection id of an entity.
pub fn collection(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Customer => "customers",
        EntityKind::CustomerPreference => "preferences",
        EntityKind::PreferenceHistory => "preference_history",
        EntityKind::Conversation => "conversations",
        EntityKind::ConversationAttachment => "attachments",
        EntityKind::ServiceCategory => "service_categories",
        EntityKind::Service => "services",
        EntityKind::ServicePricingTier => "pricing_tiers",
        EntityKind::ServicePackage => "service_packages",
        EntityKind::PackageService => "services",
        EntityKind::ApiToken => "api_tokens",
        EntityKind::Consent => "consents",
        EntityKind::Webhook => "webhook_subscriptions",
        EntityKind::WebhookDelivery => "webhook_deliveries",
    }
}

/// For a subcollection entity: the field holding its parent's id and the parent's kind.
pub fn parent(kind: EntityKind) -> Option<(&'static str, EntityKind)> {
    match kind {
        EntityKind::CustomerPreference | EntityKind::PreferenceHistory | EntityKind::Consent => {
            Some(("customer_id", EntityKind::Customer))
        }
        EntityKind::ConversationAttachment => Some(("conversation_id", EntityKind::Conversation)),
        EntityKind::ServicePricingTier => Some(("service_id", EntityKind::Service)),
        EntityKind::PackageService => Some(("package_id", EntityKind::ServicePackage)),
        _ => None,
    }
}

/// The path of the collection that holds rows of `kind` under `parent_id`.
pub fn collection_path(kind: EntityKind, parent_id: Option<&str>) -> String {
    match (parent(kind), parent_id) {
        (Some((_, p)), Some(pid)) => format!("{}/{pid}/{}", collection(p), collection(kind)),
        _ => collection(kind).to_string(),
    }
}

/// The document path of an entity.
pub fn path<E: Entity>(e: &E) -> String {
    let record = e.to_record();
    let parent_id = parent(E::KIND).and_then(|(field, _)| match record.values.iter().find(|(n, _)| *n == field) {
        Some((_, Value::Uuid(u))) => Some(u.to_string()),
        _ => None,
    });
    format!("{}/{}", collection_path(E::KIND, parent_id.as_deref()), e.id())
}

/// Whether a document path is one of `kind` (collection ids repeat: package services and
/// services are both `services`).
pub fn is_kind(kind: EntityKind, path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    match parent(kind) {
        Some((_, p)) => parts.len() == 4 && parts[0] == collection(p) && parts[2] == collection(kind),
        None => parts.len() == 2 && parts[0] == collection(kind),
    }
}

/// The collection of unique markers.
pub const MARKERS: &str = "_karen_unique";

fn marker(constraint: &str, value: &str) -> String {
    let escaped = value.replace('%', "%25").replace('/', "%2F");
    format!("{MARKERS}/{constraint}:{escaped}")
}

/// The marker of the `index`th unique rule of `E` for these field values.
fn marker_of<E: Entity>(index: usize, values: &[&Value]) -> String {
    let unique = &E::UNIQUES[index];
    marker(unique.constraint, &unique.key_of(values).unwrap_or_default())
}

/// The marker of a customer's e-mail (also how a customer is found by e-mail).
pub fn email_marker(email: &str) -> String {
    marker_of::<Customer>(0, &[&Value::Text(email.into())])
}

/// The marker of a customer's external id.
pub fn customer_external_marker(external_id: &str) -> String {
    marker_of::<Customer>(1, &[&Value::Text(external_id.into())])
}

/// The marker of a message's (medium, external_id).
pub fn conversation_external_marker(medium: &str, external_id: &str) -> String {
    marker_of::<Conversation>(0, &[&Value::Text(medium.into()), &Value::Text(external_id.into())])
}

/// The marker of a preference key.
pub fn preference_marker(key: &karen_core::preferences::PreferenceKey) -> String {
    marker_of::<CustomerPreference>(
        0,
        &[
            &Value::Uuid(key.customer_id),
            &Value::Text(key.preference_type.as_str().into()),
            &Value::Text(key.preference_key.clone()),
            &Value::Text(key.medium.as_str().into()),
        ],
    )
}

/// The constraint name a marker path stands for.
pub fn marker_constraint(path: &str) -> &str {
    path.trim_start_matches(MARKERS).trim_start_matches('/').split(':').next().unwrap_or("")
}

/// The unique markers an entity holds: one per declared unique rule that applies to it.
pub fn markers<E: Entity>(e: &E) -> Vec<String> {
    let record = e.to_record();
    E::UNIQUES.iter().filter_map(|u| u.key(&record).map(|k| marker(u.constraint, &k))).collect()
}

/// `field == value` (or `IS_NULL` for null).
pub fn eq(field: &str, value: &Value) -> Json {
    if *value == Value::Null {
        json!({"unaryFilter": {"field": {"fieldPath": field}, "op": "IS_NULL"}})
    } else {
        json!({"fieldFilter": {"field": {"fieldPath": field}, "op": "EQUAL", "value": codec::encode(value)}})
    }
}

/// `field op value` with a raw Firestore value.
pub fn cmp(field: &str, op: &str, value: Json) -> Json {
    json!({"fieldFilter": {"field": {"fieldPath": field}, "op": op, "value": value}})
}

/// The AND of filters (none: no `where`).
pub fn and(filters: Vec<Json>) -> Option<Json> {
    match filters.len() {
        0 => None,
        1 => filters.into_iter().next(),
        _ => Some(json!({"compositeFilter": {"op": "AND", "filters": filters}})),
    }
}

/// `orderBy` entries.
pub fn order(fields: &[(&str, bool)]) -> Json {
    Json::Array(
        fields
            .iter()
            .map(|(f, desc)| json!({"field": {"fieldPath": f}, "direction": if *desc { "DESCENDING" } else { "ASCENDING" }}))
            .collect(),
    )
}

/// A structured query over `collection` (all descendants when `group`).
pub fn query(collection: &str, group: bool, filter: Option<Json>, order_by: Json, limit: Option<u32>) -> Json {
    let mut q = json!({"from": [{"collectionId": collection, "allDescendants": group}], "orderBy": order_by});
    if let Some(f) = filter {
        q["where"] = f;
    }
    if let Some(l) = limit {
        q["limit"] = json!(l);
    }
    q
}
