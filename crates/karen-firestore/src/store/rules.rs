//! The rules Firestore does not enforce itself, checked inside karen's transactions: document
//! size, unique markers (one per declared unique rule, [`karen_core::Entity::UNIQUES`]) and
//! references.

use karen_core::{Entity, EntityKind, StoreError, StoreResult, Value};
use serde_json::{json, Value as Json};

use super::*;
use crate::layout;

/// Refuses what a Firestore document cannot hold, naming the field, before anything is sent:
/// a text field beyond [`MAX_CONTENT_BYTES`] (only a message's `content` may be that long).
pub(super) fn check_size<E: Entity>(e: &E) -> StoreResult<()> {
    for (name, value) in e.to_record().values {
        if matches!(&value, Value::Text(t) if t.len() > MAX_CONTENT_BYTES) {
            return Err(StoreError::invalid(
                name,
                format!("must be at most {MAX_CONTENT_BYTES} bytes on the Firestore backend (its documents are limited to 1 MiB)"),
            ));
        }
    }
    Ok(())
}

pub(super) fn marker_fields(owner: &str) -> Json {
    json!({"owner": {"stringValue": owner}})
}

pub(super) fn owner_of(doc: &Json) -> Option<String> {
    doc.pointer("/fields/owner/stringValue").and_then(|v| v.as_str()).map(str::to_string)
}

pub(super) fn uuid_field(doc: &Json, field: &str) -> Option<String> {
    doc.pointer(&format!("/fields/{field}/stringValue")).and_then(|v| v.as_str()).map(str::to_string)
}

pub(super) fn id_conflict(kind: EntityKind) -> StoreError {
    StoreError::Conflict { entity: kind.name(), rule: "id must be unique".into() }
}

/// Checks markers and references of `e` inside `tx`; `own` is the document that may
/// already hold a marker (an update).
/// Checks, inside transaction `tx`, that no other document holds `e`'s unique markers and
/// that every row `e` refers to exists, either stored or among the `earlier` paths of the
/// same commit (a bulk insert of a category tree names parents before children). Returns the
/// referenced documents it read, by field, for callers that need them too.
pub(super) async fn check_rules<E: Entity>(
    store: &FirestoreStore,
    e: &E,
    own: &str,
    tx: &str,
    markers: &[String],
    earlier: &std::collections::HashSet<String>,
) -> StoreResult<Vec<(&'static str, Json)>> {
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
    let found = store.client.batch_get(&paths, Some(tx)).await?;
    for (marker, doc) in markers.iter().zip(&found) {
        if let Some(doc) = doc {
            if owner_of(doc).as_deref() != Some(own) {
                return Err(karen_core::unique_violation(layout::marker_constraint(marker)));
            }
        }
    }
    let mut read = Vec::with_capacity(refs.len());
    for ((field, _), doc) in refs.iter().zip(&found[markers.len()..]) {
        match doc {
            Some(doc) => read.push((*field, doc.clone())),
            None => return Err(StoreError::missing_reference(*field)),
        }
    }
    Ok(read)
}
