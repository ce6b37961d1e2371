//! The query patterns of the design and the lookups agents ask by: preferences (pattern 1),
//! history (2), service search (3), analytics (4), customers by e-mail, phone or external id,
//! messages by external id and thread, package detail.

use chrono::Duration;
use uuid::Uuid;

use super::{checked, paginate, Karen};
use crate::entity::Entity;
use crate::enums::{Medium, PreferenceType};
use crate::error::{StoreError, StoreResult};
use crate::model::{Conversation, Customer, CustomerPreference};
use crate::query::{
    cursor, search_terms, HistoryQuery, MediumStats, PackageDetail, Page, PageRequest, PreferenceQuery, ServiceHit,
    ServiceSearchQuery,
};
use crate::store::Store;

impl<S: Store> Karen<S> {
    /// Stores a preference, replacing the current value of its (customer, type, key, medium).
    /// The previous version, if any, goes to the preference history as superseded (or
    /// deactivated), and the customer's summary column follows.
    pub async fn upsert_preference(&self, mut preference: CustomerPreference) -> StoreResult<CustomerPreference> {
        if preference.id.is_nil() {
            preference.id = Uuid::now_v7();
        }
        let record = checked(&mut preference)?;
        self.check_relations(&preference, &record).await?;
        preference.stamp(self.now(), true);
        self.replace_preference(preference, Some("upsert".into())).await
    }

    /// Active, unexpired preferences of a customer, optionally of one type, ordered by
    /// priority then confidence desc (pattern 1 with decisions.md item 19).
    pub async fn preferences(
        &self,
        customer_id: Uuid,
        preference_type: Option<PreferenceType>,
    ) -> StoreResult<Vec<CustomerPreference>> {
        self.active_preferences(customer_id, preference_type, false).await
    }

    /// As [`Karen::preferences`], but a customer that does not exist is not found (the HTTP
    /// route's answer), told by the store with the lookup: only an empty answer asks.
    pub async fn customer_preferences(
        &self,
        customer_id: Uuid,
        preference_type: Option<PreferenceType>,
    ) -> StoreResult<Vec<CustomerPreference>> {
        self.active_preferences(customer_id, preference_type, true).await
    }

    /// Pattern 1 as the store answers it, now by karen's clock.
    async fn active_preferences(
        &self,
        customer_id: Uuid,
        preference_type: Option<PreferenceType>,
        customer_must_exist: bool,
    ) -> StoreResult<Vec<CustomerPreference>> {
        let q = PreferenceQuery { customer_id, preference_type, now: self.now(), customer_must_exist };
        self.store.active_preferences(&q).await
    }

    /// Records a message delivered by an external system: a redelivery with the same
    /// (medium, external_id) returns the stored message unchanged. The bool says whether it is
    /// new. Consent applies (decisions.md item 24): an inbound SMS keyword changes it in the
    /// same transaction; an outbound message on an opted-out channel is refused (conflict).
    pub async fn record_message(&self, mut message: Conversation) -> StoreResult<(Conversation, bool)> {
        if message.id.is_nil() {
            message.id = Uuid::now_v7();
        }
        let record = checked(&mut message)?;
        self.check_relations(&message, &record).await?;
        message.stamp(self.now(), true);
        self.insert_message(message, &[], true).await
    }

    /// A customer's messages on one medium (or all), newest first, a page at a time (pattern 2);
    /// not found when the customer does not exist (the store asks only when the page is empty).
    pub async fn history(
        &self,
        customer_id: Uuid,
        medium: Option<Medium>,
        page: &PageRequest,
    ) -> StoreResult<Page<Conversation>> {
        let limit = page.checked_limit()?;
        let listing = format!("history:{customer_id}:{medium:?}");
        let before = page.cursor.as_deref().map(|c| cursor::decode_time(&cursor::open(&listing, c)?)).transpose()?;
        let rows = self
            .store
            .conversation_history(&HistoryQuery {
                customer_id,
                medium,
                before,
                limit: limit + 1,
                customer_must_exist: true,
            })
            .await?;
        Ok(paginate(rows, limit, |c| cursor::seal(&listing, &cursor::encode_time(c.message_timestamp, c.id))))
    }

    /// The messages of a thread, oldest first.
    pub async fn thread(&self, thread_id: &str) -> StoreResult<Vec<Conversation>> {
        self.store.thread_messages(thread_id).await
    }

    /// The message with this (medium, external_id).
    pub async fn conversation_by_external_id(&self, medium: Medium, external_id: &str) -> StoreResult<Conversation> {
        self.store
            .conversation_by_external_id(medium, external_id)
            .await?
            .ok_or_else(|| StoreError::not_found("conversation", format!("{medium}:{external_id}")))
    }

    /// Services whose keywords share a word with `keywords`, with category name and default
    /// price, featured first then by name (pattern 3 with decisions.md item 19). Answered from
    /// the in-process catalog snapshot, which follows every committed catalog write
    /// ([`crate::catalog`]).
    pub async fn search_services<T: AsRef<str>>(
        &self,
        keywords: &[T],
        page: &PageRequest,
    ) -> StoreResult<Page<ServiceHit>> {
        let terms = search_terms(keywords)?;
        let limit = page.checked_limit()?;
        let listing = format!("search:{terms:?}");
        let after = page.cursor.as_deref().map(|c| cursor::decode_search(&cursor::open(&listing, c)?)).transpose()?;
        let rows = self.catalog.search(&self.store, &ServiceSearchQuery { terms, after, limit: limit + 1 }).await?;
        Ok(paginate(rows, limit, |h| {
            cursor::seal(
                &listing,
                &cursor::encode_search(&crate::query::SearchPosition {
                    is_featured: h.service.is_featured,
                    name: h.service.name.clone(),
                    id: h.service.id,
                }),
            )
        }))
    }

    /// How many catalog snapshots this karen has loaded: one at the first search, then one
    /// after each catalog write that a search noticed (tests and metrics).
    pub fn catalog_loads(&self) -> u64 {
        self.catalog.loads()
    }

    /// A package with its services.
    pub async fn package_detail(&self, id: Uuid) -> StoreResult<PackageDetail> {
        let package = self.store.get(id).await?;
        let items = self.store.package_items(id).await?;
        Ok(PackageDetail { package, items })
    }

    /// Communication analytics of a customer per medium over the last `days` days
    /// (decisions.md item 8), ordered by medium.
    pub async fn analytics(&self, customer_id: Uuid, days: u32) -> StoreResult<Vec<MediumStats>> {
        if !(1..=3660).contains(&days) {
            return Err(StoreError::invalid("days", "must be between 1 and 3660"));
        }
        let to = self.now();
        let from = to - Duration::days(i64::from(days));
        Ok(super::context::stats(self.store.communication_counts(customer_id, from, to).await?))
    }

    /// The customer with this primary e-mail, compared case-insensitively.
    pub async fn customer_by_email(&self, email: &str) -> StoreResult<Customer> {
        let mut e = email.to_string();
        crate::validate::email("email", &mut e)?;
        self.store.customer_by_email(&e).await?.ok_or_else(|| StoreError::not_found("customer", "with that e-mail"))
    }

    /// Customers with this phone number (any common form; compared in E.164).
    pub async fn customers_by_phone(&self, phone: &str) -> StoreResult<Vec<Customer>> {
        let p = crate::validate::phone("phone", phone)?;
        self.store.customers_by_phone(&p).await
    }

    /// The customer with this external id.
    pub async fn customer_by_external_id(&self, external_id: &str) -> StoreResult<Customer> {
        self.store
            .customer_by_external_id(external_id)
            .await?
            .ok_or_else(|| StoreError::not_found("customer", format!("external_id {external_id}")))
    }
}
