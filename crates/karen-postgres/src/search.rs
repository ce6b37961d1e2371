//! Conversation search on PostgreSQL (docs/decisions.md K52): the generated `search_vector`
//! of migration 11 under the `karen_search` configuration, `websearch_to_tsquery` of the
//! query karen parsed, `ts_rank_cd` (the subject's weight A counting 2.5 times the content's
//! B). Snippets are the core's (`search::Matcher::snippet`, as on every backend): `ts_headline`
//! re-parses each row of the page, 2 ms of a 2.4 ms customer search whose 21 rows all match.

use karen_core::model::Conversation;
use karen_core::query::{ConversationHit, ConversationSearch};
use karen_core::search::Matcher;
use karen_core::{Entity, StoreResult};
use karen_sql::{rank_after_sql, search_filter_sql, SearchParam};
use sqlx::{PgPool, Row};

use crate::errors::map_err;
use crate::rows::{entity_at, prefixed, Placeholder};

/// The matches of a search, best first, with their snippets.
pub async fn search(pool: &PgPool, search: &ConversationSearch) -> StoreResult<Vec<ConversationHit>> {
    let p = Placeholder::Dollar;
    let mut n = 2;
    let (filters, params) = search_filter_sql(p, &mut n, &search.filter, true);
    // A customer's messages are read first and their vectors tested one by one: given both
    // conditions, the planner ANDs the customer's index with the GIN index, which for a word
    // in most messages reads that word's whole posting list (it cannot see the query's words).
    // OFFSET 0 keeps the match out of the inner query.
    let (source, matched) = if search.filter.customer_id.is_some() {
        (format!("(SELECT * FROM conversations c WHERE true{filters} OFFSET 0) c"), String::new())
    } else {
        ("conversations c".to_string(), filters)
    };
    let inner = prefixed::<Conversation>("c");
    let mut after = String::new();
    if search.after.is_some() {
        after = format!("WHERE {}", rank_after_sql(p, n));
        n += 3;
    }
    let text = format!(
        "WITH q AS (SELECT websearch_to_tsquery('karen_search', $1) AS query)
         SELECT * FROM (
             SELECT {inner}, ts_rank_cd(c.search_vector, q.query)::float8 AS rank
               FROM {source}, q
              WHERE c.search_vector @@ q.query{matched}) r
          {after}
          ORDER BY rank DESC, message_timestamp DESC, id DESC LIMIT {}",
        p.nth(n)
    );
    let mut query = sqlx::query(&text).bind(search.query.to_websearch());
    for param in params {
        let f = &search.filter;
        query = match param {
            SearchParam::Customer => query.bind(f.customer_id),
            SearchParam::Medium => query.bind(f.medium.map(|m| m.as_str())),
            SearchParam::Direction => query.bind(f.direction.map(|d| d.as_str())),
            SearchParam::From => query.bind(f.from),
            SearchParam::To => query.bind(f.to),
        };
    }
    if let Some(a) = search.after {
        query = query.bind(a.rank).bind(a.at).bind(a.id);
    }
    let rows = query.bind(i64::from(search.limit)).fetch_all(pool).await.map_err(map_err)?;
    let width = Conversation::FIELDS.len();
    let mut matcher = Matcher::new(&search.query);
    rows.iter()
        .map(|row| {
            let conversation: Conversation = entity_at(row, 0)?;
            let rank: f64 = row.try_get(width).map_err(map_err)?;
            let snippet = matcher.snippet(conversation.subject.as_deref(), &conversation.content);
            Ok(ConversationHit { conversation, rank, snippet })
        })
        .collect()
}
