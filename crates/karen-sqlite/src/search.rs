//! Conversation search on SQLite (docs/decisions.md K52): the FTS5 index of migration 12,
//! ranked by `bm25` with the subject weighing [`SUBJECT_WEIGHT`] times the content, a
//! customer's messages searched in process, and the batched indexing of messages stored before
//! the migration. Snippets are the core's (`search::Matcher::snippet`, which marks what this index
//! matches): FTS5's `snippet()` either runs for every match before the sort, or, asked for the
//! page's rows by rowid, re-evaluates the query per row (about 3 ms each).

use std::collections::HashMap;

use karen_core::model::Conversation;
use karen_core::query::{ConversationHit, ConversationSearch};
use karen_core::search::{page_in_process, Candidate, Matcher, INDEXED_CONTENT_CHARS, SUBJECT_WEIGHT};
use karen_core::{Entity, FieldType, StoreError, StoreResult, Value};
use karen_sql::{rank_after_sql, search_filter_sql, SearchParam};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use crate::errors::map_err;
use crate::rows::{self, decode, entity_at, prefixed, ts, Placeholder};

/// Messages indexed per transaction by [`backfill`].
const BATCH: i64 = 2_000;

/// The matches of a search, best first, with their snippets. A customer's search reads the
/// customer's messages through their index and answers in process with the core's rules
/// ([`page_in_process`], which tokenizes and stems as this index does): FTS5 intersects a
/// customer's few rows with the whole doclists of common words, which grows with every
/// customer's messages. A search of everyone asks the FTS5 index.
pub async fn search(readers: &SqlitePool, search: &ConversationSearch) -> StoreResult<Vec<ConversationHit>> {
    match search.filter.customer_id {
        Some(_) => customer_search(readers, search).await,
        None => index_search(readers, search).await,
    }
}

/// A customer's search: the id, time, subject and indexed content of each of the customer's
/// messages within the filters, the page chosen among them, then the page's rows whole, both
/// reads in one transaction (one snapshot).
async fn customer_search(readers: &SqlitePool, search: &ConversationSearch) -> StoreResult<Vec<ConversationHit>> {
    let p = Placeholder::Question;
    let mut n = 1;
    let (filters, params) = search_filter_sql(p, &mut n, &search.filter, true);
    let text = format!(
        "SELECT c.id, c.message_timestamp, c.subject, substr(c.content, 1, {INDEXED_CONTENT_CHARS})
           FROM conversations c WHERE 1 = 1{filters}"
    );
    let mut query = sqlx::query(&text);
    for param in params {
        query = bind_param(query, search, param);
    }
    let mut tx = readers.begin().await.map_err(map_err)?;
    let rows = query.fetch_all(&mut *tx).await.map_err(map_err)?;
    let read = rows
        .iter()
        .map(|r| {
            let corrupt = |field: &str| {
                StoreError::corrupt(Conversation::KIND.name(), StoreError::invalid(field, "stored value is null"))
            };
            let decoded = |i: usize, field: &str, ty: FieldType| {
                decode(r, i, field, ty).map_err(|e| StoreError::corrupt(Conversation::KIND.name(), e))
            };
            let Value::Uuid(id) = decoded(0, "id", FieldType::Uuid)? else { return Err(corrupt("id")) };
            let Value::Timestamp(at) = decoded(1, "message_timestamp", FieldType::Timestamp)? else {
                return Err(corrupt("message_timestamp"));
            };
            let subject: Option<&str> = r.try_get(2).map_err(map_err)?;
            let content: &str = r.try_get(3).map_err(map_err)?;
            Ok(Candidate { id, at, subject, content })
        })
        .collect::<StoreResult<Vec<Candidate<'_>>>>()?;
    let mut matcher = Matcher::new(&search.query);
    let page = page_in_process(search, &mut matcher, &read);
    if page.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; page.len()].join(", ");
    let text = format!("SELECT {} FROM conversations c WHERE c.id IN ({marks})", prefixed::<Conversation>("c"));
    let mut query = sqlx::query(&text);
    for (i, _) in &page {
        query = query.bind(rows::uuid(read[*i].id));
    }
    let mut whole: HashMap<Uuid, Conversation> = HashMap::with_capacity(page.len());
    for row in query.fetch_all(&mut *tx).await.map_err(map_err)? {
        let conversation: Conversation = entity_at(&row, 0)?;
        whole.insert(conversation.id, conversation);
    }
    tx.commit().await.map_err(map_err)?;
    Ok(page
        .into_iter()
        .filter_map(|(i, rank)| {
            let conversation = whole.remove(&read[i].id)?;
            let snippet = matcher.snippet(conversation.subject.as_deref(), &conversation.content);
            Some(ConversationHit { conversation, rank, snippet })
        })
        .collect())
}

fn bind_param<'q>(
    query: rows::SqliteQuery<'q>,
    search: &ConversationSearch,
    param: SearchParam,
) -> rows::SqliteQuery<'q> {
    let f = &search.filter;
    match param {
        SearchParam::Medium => query.bind(f.medium.map(|m| m.as_str())),
        SearchParam::Direction => query.bind(f.direction.map(|d| d.as_str())),
        SearchParam::From => query.bind(f.from.map(ts)),
        SearchParam::To => query.bind(f.to.map(ts)),
        SearchParam::Customer => query.bind(f.customer_id.map(rows::uuid)),
    }
}

async fn index_search(readers: &SqlitePool, search: &ConversationSearch) -> StoreResult<Vec<ConversationHit>> {
    let p = Placeholder::Question;
    let mut n = 2;
    let (filters, params) = search_filter_sql(p, &mut n, &search.filter, false);
    // The page is chosen over (rank, time, id) alone; only its rows are read whole.
    let mut page = format!(
        "SELECT * FROM (
            SELECT -bm25(conversation_fts, {SUBJECT_WEIGHT}, 1.0) AS rank, c.message_timestamp AS message_timestamp,
                   c.id AS id
              FROM conversation_fts f
             CROSS JOIN conversation_search_ids m ON m.rowid = f.rowid
             CROSS JOIN conversations c ON c.id = m.conversation_id
             WHERE conversation_fts MATCH ?1{filters})"
    );
    if search.after.is_some() {
        page.push_str(&format!(" WHERE {}", rank_after_sql(p, n)));
        n += 3;
    }
    page.push_str(&format!(" ORDER BY rank DESC, message_timestamp DESC, id DESC LIMIT {}", p.nth(n)));
    let text = format!(
        "SELECT {}, s.rank FROM ({page}) s CROSS JOIN conversations c ON c.id = s.id
          ORDER BY s.rank DESC, s.message_timestamp DESC, s.id DESC",
        prefixed::<Conversation>("c")
    );
    let mut query = sqlx::query(&text).bind(search.query.to_fts5());
    for param in params {
        query = bind_param(query, search, param);
    }
    if let Some(a) = search.after {
        query = query.bind(a.rank).bind(ts(a.at)).bind(rows::uuid(a.id));
    }
    let found = query.bind(i64::from(search.limit)).fetch_all(readers).await.map_err(map_err)?;
    let width = Conversation::FIELDS.len();
    let mut matcher = Matcher::new(&search.query);
    found
        .iter()
        .map(|row| {
            let conversation: Conversation = entity_at(row, 0)?;
            let rank: f64 = row.try_get(width).map_err(map_err)?;
            let snippet = matcher.snippet(conversation.subject.as_deref(), &conversation.content);
            Ok(ConversationHit { conversation, rank, snippet })
        })
        .collect()
}

/// Indexes the messages that have no row in `conversation_search_ids` yet (those stored
/// before migration 12), in id order, [`BATCH`] per write transaction, logging progress; a
/// run cut short is finished by the next. Returns how many it indexed.
pub async fn backfill(writer: &SqlitePool) -> StoreResult<u64> {
    let ready: bool =
        sqlx::query_scalar("SELECT count(*) > 0 FROM sqlite_master WHERE name = 'conversation_search_ids'")
            .fetch_one(writer)
            .await
            .map_err(map_err)?;
    if !ready {
        return Ok(0);
    }
    let missing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM conversations c
          WHERE NOT EXISTS (SELECT 1 FROM conversation_search_ids m WHERE m.conversation_id = c.id)",
    )
    .fetch_one(writer)
    .await
    .map_err(map_err)?;
    if missing == 0 {
        return Ok(0);
    }
    tracing::info!(messages = missing, "indexing stored messages for search");
    let mut done: u64 = 0;
    let mut last = String::new();
    loop {
        let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
        let before: i64 = sqlx::query_scalar("SELECT coalesce(max(rowid), 0) FROM conversation_search_ids")
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let added = sqlx::query(
            "INSERT INTO conversation_search_ids (conversation_id)
             SELECT id FROM conversations c
              WHERE c.id > ?1
                AND NOT EXISTS (SELECT 1 FROM conversation_search_ids m WHERE m.conversation_id = c.id)
              ORDER BY c.id LIMIT ?2",
        )
        .bind(&last)
        .bind(BATCH)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if added == 0 {
            tx.commit().await.map_err(map_err)?;
            break;
        }
        sqlx::query(
            "INSERT INTO conversation_fts (rowid, subject, content)
             SELECT doc_id, subject, content FROM conversation_search_docs WHERE doc_id > ?1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        last = sqlx::query_scalar("SELECT max(conversation_id) FROM conversation_search_ids WHERE rowid > ?1")
            .bind(before)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        done += added;
        if done % 100_000 < added {
            tracing::info!(indexed = done, of = missing, "indexing stored messages for search");
        }
    }
    tracing::info!(indexed = done, "stored messages indexed for search");
    Ok(done)
}
