//! Which indexes a structured query needs, in the terms of `firestore.indexes.json`. The
//! emulator does not enforce composite indexes, so the index-coverage test records every query
//! karen sends and checks each against the repository's `firestore.indexes.json` with this.

use std::collections::BTreeSet;

use serde_json::{json, Value as Json};

/// One index: (collection group, scope, fields as (path, ASCENDING | DESCENDING | CONTAINS)).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Index {
    /// Collection id.
    pub collection_group: String,
    /// `COLLECTION` or `COLLECTION_GROUP`.
    pub scope: String,
    /// Fields in index order: equality fields (sorted), the array field, then the orders.
    pub fields: Vec<(String, String)>,
}

/// What a query needs: a composite index, or single-field collection-group indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Need {
    /// The composite index, when one is needed.
    pub composite: Option<Index>,
    /// (collection group, field) pairs that need a COLLECTION_GROUP single-field index.
    pub group_fields: Vec<(String, String)>,
}

fn filters(f: &Json, out: &mut Vec<(String, String)>) {
    if let Some(c) = f.get("compositeFilter") {
        for sub in c.get("filters").and_then(|x| x.as_array()).into_iter().flatten() {
            filters(sub, out);
        }
    } else if let Some(ff) = f.get("fieldFilter") {
        let field = ff.pointer("/field/fieldPath").and_then(|x| x.as_str()).unwrap_or("").to_string();
        out.push((field, ff.get("op").and_then(|x| x.as_str()).unwrap_or("").to_string()));
    } else if let Some(u) = f.get("unaryFilter") {
        out.push((u.pointer("/field/fieldPath").and_then(|x| x.as_str()).unwrap_or("").to_string(), "EQUAL".into()));
    }
}

/// The indexes `query` (a `structuredQuery`) needs.
pub fn need(query: &Json) -> Need {
    let from = &query["from"][0];
    let collection = from["collectionId"].as_str().unwrap_or("").to_string();
    let scope = if from["allDescendants"].as_bool() == Some(true) { "COLLECTION_GROUP" } else { "COLLECTION" };
    let mut fs = Vec::new();
    if let Some(w) = query.get("where") {
        filters(w, &mut fs);
    }
    let mut eq: BTreeSet<String> = BTreeSet::new();
    let mut array: Option<String> = None;
    let mut inequality: Option<String> = None;
    for (field, op) in &fs {
        match op.as_str() {
            "EQUAL" | "IN" => {
                eq.insert(field.clone());
            }
            "ARRAY_CONTAINS" | "ARRAY_CONTAINS_ANY" => array = Some(field.clone()),
            _ => inequality = Some(field.clone()),
        }
    }
    let mut orders: Vec<(String, String)> = query["orderBy"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o.pointer("/field/fieldPath").and_then(|x| x.as_str()).unwrap_or("").to_string(),
                o["direction"].as_str().unwrap_or("ASCENDING").to_string(),
            )
        })
        .filter(|(f, _)| f != "__name__")
        .collect();
    if let Some(i) = &inequality {
        if orders.first().map(|(f, _)| f) != Some(i) {
            orders.insert(0, (i.clone(), "ASCENDING".into()));
        }
    }
    orders.retain(|(f, _)| !eq.contains(f));
    let distinct: BTreeSet<&String> = eq.iter().chain(array.iter()).chain(orders.iter().map(|(f, _)| f)).collect();
    let single_fields = |fields: Vec<String>| -> Vec<(String, String)> {
        if scope == "COLLECTION_GROUP" {
            fields.into_iter().map(|f| (collection.clone(), f)).collect()
        } else {
            Vec::new()
        }
    };
    if (orders.is_empty() && array.is_none()) || distinct.len() < 2 {
        return Need { composite: None, group_fields: single_fields(distinct.into_iter().cloned().collect()) };
    }
    let mut fields: Vec<(String, String)> = eq.iter().map(|f| (f.clone(), "ASCENDING".to_string())).collect();
    if let Some(a) = array {
        fields.push((a, "CONTAINS".into()));
    }
    fields.extend(orders);
    Need {
        composite: Some(Index { collection_group: collection.clone(), scope: scope.into(), fields }),
        group_fields: Vec::new(),
    }
}

/// The `firestore.indexes.json` document of a set of needs.
pub fn document(composites: &BTreeSet<Index>, group_fields: &BTreeSet<(String, String)>) -> Json {
    let indexes: Vec<Json> = composites
        .iter()
        .map(|i| {
            let fields: Vec<Json> = i
                .fields
                .iter()
                .map(|(f, mode)| {
                    if mode == "CONTAINS" {
                        json!({"fieldPath": f, "arrayConfig": "CONTAINS"})
                    } else {
                        json!({"fieldPath": f, "order": mode})
                    }
                })
                .collect();
            json!({"collectionGroup": i.collection_group, "queryScope": i.scope, "fields": fields})
        })
        .collect();
    let overrides: Vec<Json> = group_fields
        .iter()
        .map(|(c, f)| {
            json!({"collectionGroup": c, "fieldPath": f, "indexes": [
                {"order": "ASCENDING", "queryScope": "COLLECTION"},
                {"order": "DESCENDING", "queryScope": "COLLECTION"},
                {"arrayConfig": "CONTAINS", "queryScope": "COLLECTION"},
                {"order": "ASCENDING", "queryScope": "COLLECTION_GROUP"}
            ]})
        })
        .collect();
    json!({"indexes": indexes, "fieldOverrides": overrides})
}

/// The composite indexes and collection-group fields a `firestore.indexes.json` declares.
pub fn declared(doc: &Json) -> (BTreeSet<Index>, BTreeSet<(String, String)>) {
    let composites = doc["indexes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| Index {
            collection_group: i["collectionGroup"].as_str().unwrap_or("").into(),
            scope: i["queryScope"].as_str().unwrap_or("COLLECTION").into(),
            fields: i["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    let mode = f["order"].as_str().or(f["arrayConfig"].as_str()).unwrap_or("ASCENDING");
                    (f["fieldPath"].as_str().unwrap_or("").to_string(), mode.to_string())
                })
                .collect(),
        })
        .collect();
    let groups = doc["fieldOverrides"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["indexes"].as_array().into_iter().flatten().any(|i| i["queryScope"] == "COLLECTION_GROUP"))
        .map(|o| {
            (o["collectionGroup"].as_str().unwrap_or("").to_string(), o["fieldPath"].as_str().unwrap_or("").to_string())
        })
        .collect();
    (composites, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_alone_needs_no_composite_but_ordering_does() {
        let q = json!({"from": [{"collectionId": "customers", "allDescendants": false}],
            "where": {"fieldFilter": {"field": {"fieldPath": "status"}, "op": "EQUAL", "value": {}}}, "orderBy": []});
        assert_eq!(need(&q), Need::default());
        let q = json!({"from": [{"collectionId": "conversations", "allDescendants": false}],
            "where": {"compositeFilter": {"op": "AND", "filters": [
                {"fieldFilter": {"field": {"fieldPath": "medium"}, "op": "EQUAL", "value": {}}},
                {"fieldFilter": {"field": {"fieldPath": "customer_id"}, "op": "EQUAL", "value": {}}}]}},
            "orderBy": [{"field": {"fieldPath": "message_timestamp"}, "direction": "DESCENDING"}]});
        let i = need(&q).composite.unwrap();
        assert_eq!(
            i.fields,
            vec![
                ("customer_id".to_string(), "ASCENDING".to_string()),
                ("medium".into(), "ASCENDING".into()),
                ("message_timestamp".into(), "DESCENDING".into())
            ]
        );
        let q = json!({"from": [{"collectionId": "preferences", "allDescendants": true}],
            "where": {"fieldFilter": {"field": {"fieldPath": "id"}, "op": "EQUAL", "value": {}}}, "orderBy": []});
        assert_eq!(need(&q).group_fields, vec![("preferences".to_string(), "id".to_string())]);
    }
}
