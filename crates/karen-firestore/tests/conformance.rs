//! The conformance suite against Google's Firestore emulator, one project id per check (the
//! emulator keeps projects apart), and what is Firestore's own: the index file covers every
//! query karen sends, the design's section 6.2 queries find karen's documents, and deleting a
//! customer with 1,000 conversations leaves nothing of theirs. `FIRESTORE_EMULATOR_HOST` must
//! name a running emulator; `.ci/run` starts one.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use karen_conformance::Ctx;
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::Karen;
use karen_firestore::{indexes, FirestoreStore};
use serde_json::{json, Value as Json};

fn emulator() -> String {
    std::env::var("FIRESTORE_EMULATOR_HOST")
        .expect("FIRESTORE_EMULATOR_HOST must name a running Firestore emulator (see .ci/run)")
}

/// Every structured query any test here sent.
fn query_log() -> Arc<Mutex<Vec<Json>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<Json>>>> = OnceLock::new();
    LOG.get_or_init(Arc::default).clone()
}

/// A store on a fresh project whose queries go to [`query_log`]: what karen sends.
fn store() -> FirestoreStore {
    let mut store = unrecorded_store();
    store.record_queries(query_log());
    store
}

/// A store on a fresh project whose queries are not logged, for a test that checks the
/// documents with queries of its own: those are not karen's and need no index of karen's.
fn unrecorded_store() -> FirestoreStore {
    let project = format!("karen-test-{}", uuid::Uuid::new_v4().simple());
    FirestoreStore::emulator(&emulator(), &project).expect("client")
}

async fn run<F>(check: F)
where
    F: FnOnce(Ctx<FirestoreStore>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static,
{
    let outcome = tokio::spawn(check(Ctx::new(store()))).await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

karen_conformance::conformance_tests!(run);

/// The design's section 6.2 queries, as another Firestore client would send them.
async fn design_queries(store: &FirestoreStore, customer: &Customer, category: &ServiceCategory) -> Vec<usize> {
    let c = store.client();
    let prefs = json!({
        "from": [{"collectionId": "preferences"}],
        "where": {"compositeFilter": {"op": "AND", "filters": [
            {"fieldFilter": {"field": {"fieldPath": "is_active"}, "op": "EQUAL", "value": {"booleanValue": true}}},
            {"fieldFilter": {"field": {"fieldPath": "preference_type"}, "op": "EQUAL", "value": {"stringValue": "communication_method"}}}]}},
        "orderBy": [{"field": {"fieldPath": "priority"}, "direction": "ASCENDING"},
                    {"field": {"fieldPath": "confidence_score"}, "direction": "DESCENDING"}]
    });
    let convs = json!({
        "from": [{"collectionId": "conversations"}],
        "where": {"compositeFilter": {"op": "AND", "filters": [
            {"fieldFilter": {"field": {"fieldPath": "customer_id"}, "op": "EQUAL", "value": {"stringValue": customer.id.to_string()}}},
            {"fieldFilter": {"field": {"fieldPath": "medium"}, "op": "EQUAL", "value": {"stringValue": "email"}}}]}},
        "orderBy": [{"field": {"fieldPath": "message_timestamp"}, "direction": "DESCENDING"}],
        "limit": 50
    });
    let services = json!({
        "from": [{"collectionId": "services"}],
        "where": {"compositeFilter": {"op": "AND", "filters": [
            {"fieldFilter": {"field": {"fieldPath": "category_id"}, "op": "EQUAL", "value": {"stringValue": category.id.to_string()}}},
            {"fieldFilter": {"field": {"fieldPath": "is_active"}, "op": "EQUAL", "value": {"booleanValue": true}}}]}},
        "orderBy": [{"field": {"fieldPath": "is_featured"}, "direction": "DESCENDING"},
                    {"field": {"fieldPath": "name"}, "direction": "ASCENDING"}]
    });
    let mut counts = Vec::new();
    counts.push(c.query(&format!("customers/{}", customer.id), prefs, None).await.unwrap().len());
    counts.push(c.query("", convs, None).await.unwrap().len());
    counts.push(c.query("", services, None).await.unwrap().len());
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_design_queries_find_karens_documents_in_the_design_layout() {
    design_layout_check().await;
}

async fn design_layout_check() {
    let store = store();
    let karen = Karen::new(store.clone());
    let customer = karen
        .create(Customer { primary_email: Some("layout@example.com".into()), ..Default::default() })
        .await
        .unwrap();
    let pref = karen
        .upsert_preference(CustomerPreference {
            customer_id: customer.id,
            preference_type: PreferenceType::CommunicationMethod,
            preference_key: "preferred_channel".into(),
            preference_value: json!({"value": "email", "metadata": {"fallback": "sms"}}),
            confidence_score: "0.85".parse().unwrap(),
            source: PreferenceSource::Learned,
            ..Default::default()
        })
        .await
        .unwrap();
    let at = karen.now();
    karen
        .create(Conversation {
            customer_id: customer.id,
            content: "leaky faucet".into(),
            message_timestamp: at,
            ..Default::default()
        })
        .await
        .unwrap();
    let category = karen
        .create(ServiceCategory { name: "Plumbing".into(), slug: "plumbing".into(), ..Default::default() })
        .await
        .unwrap();
    karen
        .create(Service {
            category_id: category.id,
            name: "Faucet".into(),
            slug: "faucet".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(design_queries(&store, &customer, &category).await, vec![1, 1, 1]);
    // The document itself has the design's shape: field names, native types, null as null.
    let doc =
        store.client().get(&format!("customers/{}/preferences/{}", customer.id, pref.id), None).await.unwrap().unwrap();
    let f = &doc["fields"];
    assert_eq!(f["customer_id"]["stringValue"], customer.id.to_string());
    assert_eq!(f["preference_value"]["mapValue"]["fields"]["value"]["stringValue"], "email");
    assert_eq!(f["confidence_score"]["doubleValue"], 0.85);
    assert!(f["learned_at"]["timestampValue"].is_string());
    assert!(f["expires_at"].get("nullValue").is_some());
    assert_eq!(f["is_active"]["booleanValue"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_has_its_index_in_firestore_indexes_json() {
    every_check_in_sequence().await;
    design_layout_check().await;
    let queries = query_log().lock().unwrap().clone();
    assert!(queries.len() > 100, "the suite sent {} queries", queries.len());
    let mut composites = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for q in &queries {
        let need = indexes::need(q);
        composites.extend(need.composite);
        groups.extend(need.group_fields);
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../firestore.indexes.json");
    if std::env::var("KAREN_WRITE_FIRESTORE_INDEXES").is_ok() {
        let doc = indexes::document(&composites, &groups);
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }
    let file: Json = serde_json::from_str(&std::fs::read_to_string(&path).expect("firestore.indexes.json")).unwrap();
    let (declared, declared_groups) = indexes::declared(&file);
    let missing: Vec<_> = composites.difference(&declared).collect();
    assert!(missing.is_empty(), "queries need composite indexes that firestore.indexes.json lacks:\n{missing:#?}");
    let missing: Vec<_> = groups.difference(&declared_groups).collect();
    assert!(missing.is_empty(), "collection-group fields missing from fieldOverrides: {missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_customer_with_1000_conversations_leaves_nothing_of_theirs() {
    // Its counting queries (collection groups by customer_id) run beside the index check.
    let store = unrecorded_store();
    let karen = Arc::new(Karen::new(store.clone()));
    let doomed = karen
        .create(Customer {
            primary_email: Some("doomed@example.com".into()),
            external_id: Some("crm-9".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let kept =
        karen.create(Customer { primary_email: Some("kept@example.com".into()), ..Default::default() }).await.unwrap();
    let now = karen.now();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let karen = karen.clone();
        let (d, k) = (doomed.id, kept.id);
        tasks.push(tokio::spawn(async move {
            for i in (worker..1000).step_by(8) {
                let m = karen
                    .create(Conversation {
                        customer_id: d,
                        external_id: Some(format!("ext-{i}")),
                        content: format!("message {i}"),
                        message_timestamp: now - chrono::Duration::minutes(i as i64),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                karen
                    .create(ConversationAttachment {
                        conversation_id: m.id,
                        file_name: format!("f{i}.jpg"),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
            if worker == 0 {
                let m = karen
                    .create(Conversation {
                        customer_id: k,
                        content: "keep me".into(),
                        message_timestamp: now,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                karen
                    .create(ConversationAttachment {
                        conversation_id: m.id,
                        file_name: "keep.jpg".into(),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let obs = |c: uuid::Uuid, v: &str| karen_core::preferences::learn::Observation {
        customer_id: c,
        preference_type: PreferenceType::CommunicationMethod,
        preference_key: "preferred_channel".into(),
        medium: PreferenceMedium::General,
        value: json!(v),
        metadata: None,
        source: PreferenceSource::Learned,
        confidence: "0.5".parse().unwrap(),
        conversation_id: None,
        expires_at: None,
    };
    karen.observe(obs(doomed.id, "sms")).await.unwrap();
    karen.observe(obs(doomed.id, "email")).await.unwrap();
    karen.observe(obs(kept.id, "sms")).await.unwrap();

    let count = |collection: &'static str, group: bool, field: &'static str, id: uuid::Uuid| {
        let store = store.clone();
        async move {
            let q = json!({"from": [{"collectionId": collection, "allDescendants": group}],
                "where": {"fieldFilter": {"field": {"fieldPath": field}, "op": "EQUAL", "value": {"stringValue": id.to_string()}}}});
            store.client().query("", q, None).await.unwrap().len()
        }
    };
    assert_eq!(count("conversations", false, "customer_id", doomed.id).await, 1000);
    karen.delete::<Customer>(doomed.id).await.unwrap();

    assert_eq!(count("customers", false, "id", doomed.id).await, 0);
    assert_eq!(count("conversations", false, "customer_id", doomed.id).await, 0, "no conversation of theirs");
    assert_eq!(count("preferences", true, "customer_id", doomed.id).await, 0, "no preference of theirs");
    assert_eq!(count("preference_history", true, "customer_id", doomed.id).await, 0, "no history of theirs");
    // Attachments: none left but the kept customer's one.
    let all_attachments = store
        .client()
        .query("", json!({"from": [{"collectionId": "attachments", "allDescendants": true}]}), None)
        .await
        .unwrap();
    assert_eq!(all_attachments.len(), 1, "only the kept customer's attachment remains");
    // Unique markers of theirs are gone (e-mail, external ids), so the values are free again.
    let markers = store.client().query("", json!({"from": [{"collectionId": "_karen_unique"}]}), None).await.unwrap();
    let doomed_path = format!("customers/{}", doomed.id);
    let leftovers: Vec<_> = markers
        .iter()
        .filter(|m| {
            let owner = m["fields"]["owner"]["stringValue"].as_str().unwrap_or("");
            owner == doomed_path
                || owner.starts_with(&format!("{doomed_path}/"))
                || m["name"].as_str().unwrap_or("").contains("ext-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{} markers of the deleted customer remain", leftovers.len());
    karen.create(Customer { primary_email: Some("DOOMED@example.com".into()), ..Default::default() }).await.unwrap();
    // The other customer is whole.
    assert_eq!(count("conversations", false, "customer_id", kept.id).await, 1);
    assert_eq!(count("preferences", true, "customer_id", kept.id).await, 1);
}

/// Documents an older karen wrote carry `_search_terms` on services; `karen migrate` removes
/// them (version 5), records the version, and a second run does nothing.
#[tokio::test]
async fn migration_5_drops_search_terms_from_old_service_documents() {
    let store = store();
    assert_eq!(karen_firestore::migrate::applied_version(&store).await.unwrap(), 0);
    let karen = Karen::new(store.clone());
    let cat = karen.create(karen_conformance::fixtures::category("Plumbing", None)).await.unwrap();
    let svc =
        karen.create(karen_conformance::fixtures::service(cat.id, "Faucet Repair", &["Faucet Repair"])).await.unwrap();
    // As the older layout had it.
    let path = format!("services/{}", svc.id);
    store
        .client()
        .commit(vec![json!({
            "update": {"name": store.client().name(&path),
                       "fields": {"_search_terms": {"arrayValue": {"values": [{"stringValue": "faucet"}]}}}},
            "updateMask": {"fieldPaths": ["_search_terms"]}
        })])
        .await
        .unwrap();
    let before = store.client().get(&path, None).await.unwrap().unwrap();
    assert!(before.pointer("/fields/_search_terms").is_some());
    assert_eq!(store.migrate().await.unwrap(), 3, "versions 5, 11 and 14");
    let after = store.client().get(&path, None).await.unwrap().unwrap();
    assert!(after.pointer("/fields/_search_terms").is_none(), "the field is gone");
    assert_eq!(karen.get::<Service>(svc.id).await.unwrap(), svc, "the service is unchanged otherwise");
    assert_eq!(karen_firestore::migrate::applied_version(&store).await.unwrap(), 14);
    assert_eq!(store.migrate().await.unwrap(), 0, "nothing left to apply");
}

/// An SMS from `customer`, `minutes` ago, as the migration tests store them.
fn old_sms(karen: &Karen<FirestoreStore>, customer: uuid::Uuid, minutes: i64) -> Conversation {
    let at = karen.now() - chrono::Duration::minutes(minutes);
    karen_conformance::fixtures::message(customer, Medium::Sms, Direction::Inbound, at)
}

/// Records the project at migration `version`, as an older karen left it.
async fn record_schema_version(store: &FirestoreStore, version: i64, name: &str) {
    let meta = json!({"version": {"integerValue": version.to_string()}, "name": {"stringValue": name}});
    let write = json!({"update": {"name": store.client().name("_karen_meta/schema"), "fields": meta}});
    store.client().commit(vec![write]).await.unwrap();
}

/// Messages an older karen wrote have no search terms; `karen migrate` (version 11) gives
/// every one its terms, so search finds them, and leaves messages that have them as they are.
#[tokio::test]
async fn migration_11_indexes_stored_messages_for_search() {
    use karen_core::query::{ConversationFilter, PageRequest};
    let store = store();
    let karen = Karen::new(store.clone());
    let customer = karen.create(karen_conformance::fixtures::customer("old@example.com")).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..305 {
        let m = old_sms(&karen, customer.id, i);
        let content = if i % 100 == 0 { "The water heater is leaking" } else { "See you Tuesday" };
        ids.push(karen.create(Conversation { content: content.into(), ..m }).await.unwrap().id);
    }
    // As an older karen wrote them: no terms, and the project at version 5.
    let strip: Vec<Json> = ids
        .iter()
        .map(|id| {
            json!({"update": {"name": store.client().name(&format!("conversations/{id}")), "fields": {}},
                   "updateMask": {"fieldPaths": ["_search_terms"]}})
        })
        .collect();
    for chunk in strip.chunks(300) {
        store.client().commit(chunk.to_vec()).await.unwrap();
    }
    record_schema_version(&store, 5, "drop_search_terms").await;
    let filter = ConversationFilter { customer_id: Some(customer.id), ..Default::default() };
    let found = karen.search_conversations("leaking", &filter, &PageRequest::first()).await.unwrap();
    assert!(found.items.is_empty(), "without terms nothing is found");
    assert_eq!(store.migrate().await.unwrap(), 2, "versions 11 and 14");
    let found = karen.search_conversations("leaking", &filter, &PageRequest::first()).await.unwrap();
    assert_eq!(found.items.len(), 4, "messages 0, 100, 200 and 300 mention the leak");
    let doc = store.client().get(&format!("conversations/{}", ids[1]), None).await.unwrap().unwrap();
    let terms: Vec<&str> = doc
        .pointer("/fields/_search_terms/arrayValue/values")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["stringValue"].as_str().unwrap())
        .collect();
    assert_eq!(terms, ["see", "tuesdai", "you"]);
    assert_eq!(store.migrate().await.unwrap(), 0, "nothing left to apply");
}

/// A message's document nests its NLP results in `nlp_analysis` beside the full analysis's other
/// keys, as section 2.3 of the design shows; the analysis's own keys named like a result are
/// kept aside, and no result is a top-level field.
#[tokio::test]
async fn nlp_results_are_nested_in_nlp_analysis() {
    let store = store();
    let karen = Karen::new(store.clone());
    let customer = karen.create(karen_conformance::fixtures::customer("nested@example.com")).await.unwrap();
    let m = karen_conformance::fixtures::message(
        customer.id,
        karen_core::enums::Medium::Email,
        karen_core::enums::Direction::Inbound,
        karen.now(),
    );
    let m = karen
        .create(Conversation {
            nlp_analysis: Some(json!({"model": "m-1", "intent": "other"})),
            intent: Some("service_request".into()),
            sentiment: Some(karen_core::enums::Sentiment::Neutral),
            confidence_score: Some("0.92".parse().unwrap()),
            entities: Some(json!([{"type": "location", "value": "kitchen"}])),
            keywords: vec!["faucet".into()],
            ..m
        })
        .await
        .unwrap();
    let doc = store.client().get(&format!("conversations/{}", m.id), None).await.unwrap().unwrap();
    let nested = &doc["fields"]["nlp_analysis"]["mapValue"]["fields"];
    assert_eq!(nested["intent"], json!({"stringValue": "service_request"}));
    assert_eq!(nested["sentiment"], json!({"stringValue": "neutral"}));
    assert_eq!(nested["priority"], json!({"nullValue": null}));
    assert_eq!(nested["confidence_score"], json!({"doubleValue": 0.92}));
    assert_eq!(nested["keywords"]["arrayValue"]["values"][0], json!({"stringValue": "faucet"}));
    assert_eq!(nested["entities"]["arrayValue"]["values"][0]["mapValue"]["fields"]["value"]["stringValue"], "kitchen");
    assert_eq!(nested["model"], json!({"stringValue": "m-1"}), "the analysis's other keys sit beside the results");
    assert_eq!(doc["fields"]["_nlp_analysis_shadowed"]["mapValue"]["fields"]["intent"]["stringValue"], "other");
    for field in karen_firestore::codec::NLP_RESULTS {
        assert!(doc["fields"].get(field).is_none(), "{field} is not a top-level field");
    }
    assert_eq!(karen.get::<Conversation>(m.id).await.unwrap(), m);
}

/// Messages an older karen wrote carry their NLP results as top-level fields; `karen migrate`
/// (version 14) moves them into `nlp_analysis`, and each message reads back unchanged.
#[tokio::test]
async fn migration_14_nests_the_nlp_results_of_stored_messages() {
    use karen_core::Entity;
    let store = store();
    let karen = Karen::new(store.clone());
    let customer = karen.create(karen_conformance::fixtures::customer("flat@example.com")).await.unwrap();
    let mut messages = Vec::new();
    for i in 0..305 {
        let m = old_sms(&karen, customer.id, i);
        let analysis = (i % 3 != 0).then(|| json!({"intent": format!("i{i}"), "model": "m"}));
        let m = Conversation {
            intent: Some(format!("intent-{}", i % 7)),
            topics: vec![format!("topic-{i}")],
            nlp_analysis: analysis,
            ..m
        };
        messages.push(karen.create(m).await.unwrap());
    }
    // As an older karen wrote them: every field at the top level, the project at version 11;
    // one analysis is not an object (nothing refused that then).
    messages[4].nlp_analysis = Some(json!(["legacy"]));
    let flat: Vec<Json> = messages
        .iter()
        .map(|m| {
            let fields: serde_json::Map<String, Json> = m
                .to_record()
                .values
                .into_iter()
                .map(|(n, v)| (n.to_string(), karen_firestore::codec::encode(&v)))
                .collect();
            json!({"update": {"name": store.client().name(&format!("conversations/{}", m.id)), "fields": fields}})
        })
        .collect();
    for chunk in flat.chunks(300) {
        store.client().commit(chunk.to_vec()).await.unwrap();
    }
    record_schema_version(&store, 11, "search").await;
    let old = store.client().get(&format!("conversations/{}", messages[1].id), None).await.unwrap().unwrap();
    assert!(karen_firestore::codec::has_flat_nlp_results(&old));
    assert_eq!(karen.get::<Conversation>(messages[1].id).await.unwrap(), messages[1], "the old layout reads");
    assert_eq!(store.migrate().await.unwrap(), 1);
    for m in &messages {
        let doc = store.client().get(&format!("conversations/{}", m.id), None).await.unwrap().unwrap();
        assert!(!karen_firestore::codec::has_flat_nlp_results(&doc), "moved");
        assert_eq!(doc["fields"]["nlp_analysis"]["mapValue"]["fields"]["intent"]["stringValue"], json!(m.intent));
        assert!(doc["fields"].get("_search_terms").is_some(), "the search terms stay");
        assert_eq!(&karen.get::<Conversation>(m.id).await.unwrap(), m);
    }
    let doc = store.client().get(&format!("conversations/{}", messages[4].id), None).await.unwrap().unwrap();
    assert_eq!(doc["fields"]["_nlp_analysis_value"]["arrayValue"]["values"][0]["stringValue"], "legacy");
    let scheduled = karen
        .list::<Conversation>(
            &[("intent", karen_core::Value::Text("intent-3".into()))],
            &karen_core::query::PageRequest::of(100),
        )
        .await
        .unwrap();
    assert_eq!(scheduled.items.len(), messages.iter().filter(|m| m.intent.as_deref() == Some("intent-3")).count());
    assert_eq!(store.migrate().await.unwrap(), 0, "nothing left to apply");
}

/// A merge cut short after some of its steps (as by a crash) leaves the duplicate readable and
/// blocks every other merge of either customer; running the merge again completes it, with
/// nothing lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_cut_short_is_completed_by_running_it_again() {
    use karen_core::merge::{MergeRequest, MergeTx};
    let store = store();
    let karen = Karen::new(store.clone());
    let now = karen.now();
    let mk = |email: &str| Customer { primary_email: Some(email.into()), ..Default::default() };
    let (a, b, c) = (
        karen.create(mk("a@example.com")).await.unwrap(),
        karen.create(mk("b@example.com")).await.unwrap(),
        karen.create(mk("c@example.com")).await.unwrap(),
    );
    let msg = |customer_id, content: &str, ext: &str| Conversation {
        customer_id,
        medium: Medium::Sms,
        content: content.into(),
        external_id: Some(ext.into()),
        message_timestamp: now,
        ..Default::default()
    };
    karen.record_message(msg(b.id, "STOP", "SM-b1")).await.unwrap();
    karen.record_message(msg(b.id, "the gutter again", "SM-b2")).await.unwrap();
    karen.record_message(msg(a.id, "hello", "SM-a1")).await.unwrap();
    karen
        .upsert_preference(karen_conformance::fixtures::preference(
            b.id,
            "preferred_channel",
            json!("email"),
            PreferenceMedium::General,
        ))
        .await
        .unwrap();

    let mut steps = store.merge_steps();
    steps.begin(a.id, b.id, now).await.unwrap();
    steps.move_consents(b.id, a.id, &[]).await.unwrap();
    steps.move_conversations(b.id, a.id).await.unwrap();
    // The process stops here.
    assert_eq!(karen.get::<Customer>(b.id).await.unwrap().id, b.id, "B is still there");
    for (into, dup) in [(c.id, b.id), (b.id, c.id), (c.id, a.id)] {
        let refused = karen.merge_customers(into, &MergeRequest { duplicate_id: dup, dry_run: false }).await;
        karen_conformance::fixtures::assert_conflict(refused, "is being merged");
    }

    let report = karen.merge_customers(a.id, &MergeRequest { duplicate_id: b.id, dry_run: false }).await.unwrap();
    assert_eq!(report.moved["customer_preferences"], 1, "the rerun moves what was left");
    let data = karen.customer_data(a.id).await.unwrap();
    assert_eq!((data.conversations.len(), data.preferences.len(), data.consent.len()), (3, 1, 1));
    assert!(!karen.consent(a.id).await.unwrap().channel(ConsentChannel::Sms).allowed());
    assert!(
        matches!(karen.get::<Customer>(b.id).await, Err(karen_core::StoreError::Merged { into, .. }) if into == a.id)
    );
    assert_eq!(karen.customer_data(c.id).await.unwrap().conversations.len(), 0);
    // The merge is done: C may now be merged into A.
    karen.merge_customers(a.id, &MergeRequest { duplicate_id: c.id, dry_run: false }).await.unwrap();
}
