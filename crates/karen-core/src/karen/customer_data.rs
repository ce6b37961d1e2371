//! A customer's own data (issue 19) on [`Karen`].

use futures_util::future::try_join_all;
use futures_util::try_join;
use uuid::Uuid;

use super::Karen;
use crate::customer_data::{AttachmentEntry, CustomerData};
use crate::error::StoreResult;
use crate::model::{Conversation, ConversationAttachment, Customer};
use crate::store::{list_every, Store};
use crate::value::Value;

/// Attachment listings read at once while exporting.
const ATTACHMENT_READS: usize = 16;

impl<S: Store> Karen<S> {
    /// Everything karen holds about a customer: the row, preferences and their history, the
    /// consent ledger, every message and its attachments' metadata; not found when the
    /// customer does not exist.
    pub async fn customer_data(&self, customer_id: Uuid) -> StoreResult<CustomerData> {
        let of = || vec![("customer_id", Value::Uuid(customer_id))];
        let (customer, preferences, preference_history, consent, conversations) = try_join!(
            self.store.get::<Customer>(customer_id),
            list_every(&self.store, of()),
            list_every(&self.store, of()),
            list_every(&self.store, of()),
            list_every::<S, Conversation>(&self.store, of()),
        )?;
        let attachments = self
            .attachments_of(&conversations)
            .await?
            .into_iter()
            .map(|a| AttachmentEntry {
                link: format!("/v1/attachments/{}", a.id),
                content: self.stored_blob(&a).map(|_| format!("/v1/attachments/{}/content", a.id)),
                attachment: a,
            })
            .collect();
        Ok(CustomerData {
            exported_at: self.now(),
            customer,
            preferences,
            preference_history,
            consent,
            conversations,
            attachments,
        })
    }
}

impl<S: Store> Karen<S> {
    /// The attachments of `conversations`, read a few listings at a time.
    pub(crate) async fn attachments_of(
        &self,
        conversations: &[Conversation],
    ) -> StoreResult<Vec<ConversationAttachment>> {
        let mut attachments = Vec::new();
        for chunk in conversations.chunks(ATTACHMENT_READS) {
            let lists = try_join_all(chunk.iter().map(|c| {
                list_every::<S, ConversationAttachment>(&self.store, vec![("conversation_id", Value::Uuid(c.id))])
            }))
            .await?;
            attachments.extend(lists.into_iter().flatten());
        }
        Ok(attachments)
    }

    /// Erases a customer and everything of theirs (decision 17), their attachments' bytes
    /// included unless another row names the same bytes, and reports what went.
    pub async fn erase_customer(&self, customer_id: Uuid) -> StoreResult<crate::customer_data::ErasureReport> {
        let blobs = self.customer_blobs(customer_id).await?;
        let removed = self.store.delete_customer(customer_id).await?;
        // Bytes another customer's attachment names too stay (decision 17: only what belongs).
        let blobs_removed = self.remove_unnamed(&blobs).await?;
        Ok(crate::customer_data::ErasureReport {
            customer_id,
            rows: removed.into_iter().map(|(kind, n)| (kind.table().to_string(), n)).collect(),
            blobs_removed,
        })
    }

    /// Merges customer `request.duplicate_id` into `customer_id` (decisions.md item 25), or
    /// reports what that would do for a dry run.
    pub async fn merge_customers(
        &self,
        customer_id: Uuid,
        request: &crate::merge::MergeRequest,
    ) -> StoreResult<crate::merge::MergeReport> {
        self.store.merge_customers(customer_id, request.duplicate_id, self.now(), request.dry_run).await
    }

    /// Pairs of customers that are probably one person, with the reasons
    /// ([`crate::duplicates`]), the lower id first, in id order; a page at a time. Reads every
    /// customer (one listing).
    pub async fn duplicate_candidates(
        &self,
        page: &crate::query::PageRequest,
    ) -> StoreResult<crate::query::Page<crate::duplicates::DuplicatePair>> {
        let limit = page.checked_limit()?;
        let listing = "duplicates";
        let after = page
            .cursor
            .as_deref()
            .map(|c| {
                let pos = crate::query::cursor::open(listing, c)?;
                let (a, b) = pos
                    .split_once('.')
                    .ok_or_else(|| crate::StoreError::invalid("cursor", "is not a cursor returned by this listing"))?;
                let parse = |s: &str| {
                    Uuid::try_parse(s)
                        .map_err(|_| crate::StoreError::invalid("cursor", "is not a cursor returned by this listing"))
                };
                Ok::<_, crate::StoreError>((parse(a)?, parse(b)?))
            })
            .transpose()?;
        let customers: Vec<Customer> = list_every(&self.store, Vec::new()).await?;
        let rows: Vec<_> = crate::duplicates::pairs(&customers)
            .into_iter()
            .filter(|p| after.is_none_or(|pos| (p.a.id, p.b.id) > pos))
            .take(limit as usize + 1)
            .collect();
        Ok(super::paginate(rows, limit, |p| crate::query::cursor::seal(listing, &format!("{}.{}", p.a.id, p.b.id))))
    }
}
