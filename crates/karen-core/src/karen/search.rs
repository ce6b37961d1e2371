//! Conversation search (decisions.md item 26): the query parsed once here, the backend's
//! matches paginated by rank and their snippets made safe HTML.

use super::{paginate, Karen};
use crate::error::{StoreError, StoreResult};
use crate::model::Customer;
use crate::query::{cursor, ConversationFilter, ConversationHit, ConversationSearch, Page, PageRequest};
use crate::search::{finish_snippet, listing_tag, Query};
use crate::store::Store;

impl<S: Store> Karen<S> {
    /// Messages whose subject or content match `text` (words by stem, "phrases", -excluded,
    /// OR), limited by `filter`, best first; each with its rank and a snippet whose matches are
    /// in `<mark>` elements and whose other text is escaped. Not found when `filter` names a
    /// customer that does not exist (merged: where they went). A query with nothing to look
    /// for matches nothing; one longer than [`crate::search::MAX_QUERY_CHARS`] is refused.
    pub async fn search_conversations(
        &self,
        text: &str,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<ConversationHit>> {
        let query = Query::parse(text)?;
        let limit = page.checked_limit()?;
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if to <= from {
                return Err(StoreError::invalid("to", "must be after from"));
            }
        }
        if filter.customer_id.is_none() && !self.store.searches_all_customers() {
            return Err(StoreError::invalid(
                "customer_id",
                format!("is required: the {} backend searches one customer's messages at a time", self.store.backend()),
            ));
        }
        let listing = format!("conversation-search:{}", listing_tag(&format!("{}|{filter:?}", query.canonical())));
        let after = page.cursor.as_deref().map(|c| cursor::decode_rank(&cursor::open(&listing, c)?)).transpose()?;
        let rows = if query.is_empty() {
            Vec::new()
        } else {
            let search = ConversationSearch { query, filter: filter.clone(), after, limit: limit + 1 };
            self.store.search_conversations(&search).await?
        };
        if rows.is_empty() {
            if let Some(id) = filter.customer_id {
                self.get::<Customer>(id).await?;
            }
        }
        let mut page = paginate(rows, limit, |h| {
            let position = crate::query::RankPosition {
                rank: h.rank,
                at: h.conversation.message_timestamp,
                id: h.conversation.id,
            };
            cursor::seal(&listing, &cursor::encode_rank(&position))
        });
        for hit in &mut page.items {
            hit.snippet = finish_snippet(&hit.snippet);
        }
        Ok(page)
    }
}
