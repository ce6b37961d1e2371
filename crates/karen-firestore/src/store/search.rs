//! Conversation search on Firestore, which has no full-text engine (docs/decisions.md K52):
//! each message's document holds its distinct terms in `_search_terms` (written by
//! `codec::fields` with every write of the message), one query per search fetches the
//! customer's messages that hold one of the query's candidate terms (`array-contains-any`),
//! and karen checks, ranks and pages them with the core's rules. Searching all customers at
//! once would rank every match of the whole project in process, so it is refused
//! (`Store::searches_all_customers`).

use karen_core::model::Conversation;
use karen_core::query::{ConversationHit, ConversationSearch};
use karen_core::search::{search_in_process, MAX_TERMS_PER_QUERY};
use karen_core::{StoreError, StoreResult, Value};
use serde_json::json;

use super::FirestoreStore;
use crate::codec::TERMS_FIELD;
use crate::layout::{and, cmp, eq, order, query};

/// The matches of a search within one customer, best first, with their snippets.
pub(super) async fn search(store: &FirestoreStore, search: &ConversationSearch) -> StoreResult<Vec<ConversationHit>> {
    let Some(customer_id) = search.filter.customer_id else {
        return Err(StoreError::invalid(
            "customer_id",
            "is required: Firestore searches one customer's messages at a time",
        ));
    };
    let mut filters = vec![eq("customer_id", &Value::Uuid(customer_id))];
    let terms = search.query.candidate_terms();
    if !terms.is_empty() && terms.len() <= MAX_TERMS_PER_QUERY {
        let values: Vec<_> = terms.iter().map(|t| json!({"stringValue": t})).collect();
        filters.push(cmp(TERMS_FIELD, "ARRAY_CONTAINS_ANY", json!({"arrayValue": {"values": values}})));
    }
    let candidates: Vec<Conversation> =
        store.docs("", query("conversations", false, and(filters), order(&[]), None)).await?;
    Ok(search_in_process(search, candidates))
}
