//! Document migrations. Firestore has no schema, but documents written by an older karen can
//! carry a layout this karen no longer writes. Each migration here is numbered like the SQL
//! backends' (the version is kept in `_karen_meta/schema`), idempotent and resumable: it pages
//! through the documents it changes and commits in batches, so a crash midway is finished by
//! running `karen migrate` again.

use karen_core::StoreResult;
use serde_json::{json, Value as Json};

use crate::layout::{order, query};
use crate::FirestoreStore;

/// The document that records the last migration applied.
const SCHEMA: &str = "_karen_meta/schema";

/// Writes per commit (Firestore allows 500).
const BATCH: usize = 450;

/// The migrations, (version, name), in order. Versions follow the SQL backends' numbering of
/// the same change; earlier SQL versions needed nothing here.
pub const MIGRATIONS: &[(i64, &str)] = &[(5, "drop_search_terms"), (11, "search"), (14, "nest_nlp_results")];

/// The version recorded in the project (0 when never migrated).
pub async fn applied_version(store: &FirestoreStore) -> StoreResult<i64> {
    let doc = store.client().get(SCHEMA, None).await?;
    Ok(crate::codec::integer_field(doc.as_ref(), "version"))
}

/// Applies the migrations the project lacks and returns how many ran.
pub async fn migrate(store: &FirestoreStore) -> StoreResult<usize> {
    let applied = applied_version(store).await?;
    let mut ran = 0;
    for (version, name) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        match *name {
            "drop_search_terms" => drop_search_terms(store).await?,
            "search" => index_messages(store).await?,
            "nest_nlp_results" => nest_nlp_results(store).await?,
            other => unreachable!("migration {other} has no step"),
        }
        let fields = json!({"version": {"integerValue": version.to_string()}, "name": {"stringValue": name}});
        store
            .client()
            .commit_quiet(vec![json!({"update": {"name": store.client().name(SCHEMA), "fields": fields}})])
            .await?;
        ran += 1;
    }
    Ok(ran)
}

/// Version 5: services lose the `_search_terms` field that search used before the catalog
/// snapshot answered every search (docs/decisions.md K28).
async fn drop_search_terms(store: &FirestoreStore) -> StoreResult<()> {
    let mut after: Option<String> = None;
    loop {
        let mut q = query("services", false, None, order(&[("id", false)]), Some(300));
        if let Some(a) = &after {
            q["startAt"] = json!({"values": [{"stringValue": a}], "before": false});
        }
        let docs = store.client().query("", q, None).await?;
        let n = docs.len();
        let mut writes: Vec<Json> = Vec::new();
        for d in &docs {
            after = d.pointer("/fields/id/stringValue").and_then(|v| v.as_str()).map(str::to_string);
            if d.pointer("/fields/_search_terms").is_some() {
                let name = d.get("name").and_then(|n| n.as_str()).unwrap_or_default();
                // A field in the mask and absent from the document is deleted.
                writes.push(json!({
                    "update": {"name": name, "fields": {}},
                    "updateMask": {"fieldPaths": ["_search_terms"]},
                    "currentDocument": {"exists": true}
                }));
            }
        }
        for chunk in writes.chunks(BATCH) {
            store.client().commit_quiet(chunk.to_vec()).await?;
        }
        if n < 300 {
            return Ok(());
        }
    }
}

/// Version 11 (the SQL backends' search migration): every message's document gets its search
/// terms (docs/decisions.md K52). A document that already has them is skipped, so a rerun
/// continues where a cut-short run stopped.
async fn index_messages(store: &FirestoreStore) -> StoreResult<()> {
    rewrite_messages(store, "indexing stored messages for search", |d| {
        if d.pointer(&format!("/fields/{}", crate::codec::TERMS_FIELD)).is_some() {
            return Ok(None);
        }
        let text = |f: &str| d.pointer(&format!("/fields/{f}/stringValue")).and_then(|v| v.as_str());
        let terms = karen_core::search::index_terms(text("subject"), text("content").unwrap_or(""));
        Ok(Some((
            json!({crate::codec::TERMS_FIELD: crate::codec::terms_value(&terms)}),
            Some(crate::codec::TERMS_FIELD),
        )))
    })
    .await
}

/// Version 14 (no SQL counterpart): a message's NLP results move from top-level fields into
/// its `nlp_analysis` map, beside the full analysis's other keys, as section 2.3 of the design
/// has them (docs/decisions.md K55). A document already in that layout is skipped.
async fn nest_nlp_results(store: &FirestoreStore) -> StoreResult<()> {
    rewrite_messages(store, "moving NLP results into nlp_analysis", |d| {
        if !crate::codec::has_flat_nlp_results(d) {
            return Ok(None);
        }
        let message: karen_core::model::Conversation = crate::codec::entity(d)?;
        Ok(Some((crate::codec::fields(&message), None)))
    })
    .await
}

/// The new fields of a message document and the one field they replace (`None`: the whole
/// document), or `None` when the document needs nothing.
type Rewrite = Option<(Json, Option<&'static str>)>;

/// Pages through every message document, 300 at a time in id order, and writes what `rewrite`
/// makes of each. Each write is conditional on the document being unchanged since it was read
/// (a message updated meanwhile was written in the new layout), and a page whose commit meets
/// such a change is read again, up to 5 times in a row.
async fn rewrite_messages(
    store: &FirestoreStore,
    progress: &str,
    rewrite: impl Fn(&Json) -> StoreResult<Rewrite>,
) -> StoreResult<()> {
    let mut after: Option<String> = None;
    let mut done: u64 = 0;
    let mut attempts = 0;
    loop {
        let mut q = query("conversations", false, None, order(&[("id", false)]), Some(300));
        if let Some(a) = &after {
            q["startAt"] = json!({"values": [{"stringValue": a}], "before": false});
        }
        let docs = store.client().query("", q, None).await?;
        let mut writes: Vec<Json> = Vec::new();
        for d in &docs {
            let Some((fields, only)) = rewrite(d)? else { continue };
            let name = d.get("name").and_then(|n| n.as_str()).unwrap_or_default();
            let update_time = d.get("updateTime").cloned().unwrap_or(Json::Null);
            let mut write = json!({
                "update": {"name": name, "fields": fields},
                "currentDocument": {"updateTime": update_time}
            });
            if let Some(field) = only {
                write["updateMask"] = json!({"fieldPaths": [field]});
            }
            writes.push(write);
        }
        let mut committed = Ok(());
        for chunk in writes.chunks(BATCH) {
            committed = store.client().commit_quiet(chunk.to_vec()).await;
            if committed.is_err() {
                break;
            }
        }
        match committed {
            Err(e) if attempts >= 5 => return Err(e),
            Err(_) => {
                attempts += 1;
                continue;
            }
            Ok(()) => attempts = 0,
        }
        done += writes.len() as u64;
        if !writes.is_empty() {
            tracing::info!(done, "{progress}");
        }
        after =
            docs.last().and_then(|d| d.pointer("/fields/id/stringValue")).and_then(|v| v.as_str()).map(str::to_string);
        if docs.len() < 300 {
            return Ok(());
        }
    }
}
