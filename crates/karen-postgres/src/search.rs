//! Conversation search on PostgreSQL (docs/decisions.md K52): the generated `search_vector`
//! of migration 11 under the `karen_search` configuration, `websearch_to_tsquery` of the
//! query karen parsed, `ts_rank_cd` (the subject's weight A counting 2.5 times the content's
//! B) and `ts_headline` for the page's rows only.

use karen_core::model::Conversation;
use karen_core::query::{ConversationHit, ConversationSearch};
use karen_core::{Entity, StoreResult};
use karen_sql::{rank_after_sql, search_filter_sql, SearchParam};
use sqlx::{PgPool, Row};

use crate::errors::map_err;
use crate::rows::{entity_at, prefixed, Placeholder};

/// `ts_headline`'s options: the marks karen escapes around, about 24 words around the best match.
const HEADLINE: &str = "'StartSel=\"' || chr(57344) || '\", StopSel=\"' || chr(57345) || '\", \
    MaxWords=24, MinWords=12, ShortWord=0, MaxFragments=1, FragmentDelimiter=\" … \"'";

/// The matches of a search, best first, with their snippets.
pub async fn search(pool: &PgPool, search: &ConversationSearch) -> StoreResult<Vec<ConversationHit>> {
    let p = Placeholder::Dollar;
    let mut n = 2;
    let (filters, params) = search_filter_sql(p, &mut n, &search.filter, true);
    let inner = prefixed::<Conversation>("c");
    let columns = prefixed::<Conversation>("s");
    let mut after = String::new();
    if search.after.is_some() {
        after = format!("WHERE {}", rank_after_sql(p, n));
        n += 3;
    }
    let text = format!(
        "WITH q AS (SELECT websearch_to_tsquery('karen_search', $1) AS query)
         SELECT {columns}, s.rank,
                ts_headline('karen_search', left(s.content, 32768), q.query, {HEADLINE}),
                ts_headline('karen_search', coalesce(s.subject, ''), q.query, {HEADLINE})
           FROM (SELECT * FROM (
                    SELECT {inner}, ts_rank_cd(c.search_vector, q.query)::float8 AS rank
                      FROM conversations c, q
                     WHERE c.search_vector @@ q.query{filters}) r
                 {after}
                 ORDER BY rank DESC, message_timestamp DESC, id DESC LIMIT {}) s, q
          ORDER BY s.rank DESC, s.message_timestamp DESC, s.id DESC",
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
    rows.iter()
        .map(|row| {
            let conversation: Conversation = entity_at(row, 0)?;
            let rank: f64 = row.try_get(width).map_err(map_err)?;
            let content: String = row.try_get(width + 1).map_err(map_err)?;
            let subject: String = row.try_get(width + 2).map_err(map_err)?;
            let marked = |s: &str| s.contains(karen_core::search::MARK_START);
            let snippet = if !marked(&content) && marked(&subject) { subject } else { content };
            Ok(ConversationHit { conversation, rank, snippet })
        })
        .collect()
}
