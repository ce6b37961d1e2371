//! Reply context (decisions.md item 28): the parts are read concurrently, each one query of
//! the store (or the catalog snapshot), so the call costs about its slowest part.

use chrono::Duration;
use futures_util::try_join;
use uuid::Uuid;

use super::Karen;
use crate::context::*;
use crate::enums::{Medium, MessagePriority};
use crate::error::{StoreError, StoreResult};
use crate::model::{Conversation, Customer};
use crate::preferences::plan::{self, Urgency};
use crate::preferences::resolve;
use crate::query::{HistoryQuery, MediumStats};
use crate::store::Store;

/// The message a context is built around.
enum Around {
    None,
    Id(Uuid),
    Known(Box<Conversation>),
}

impl<S: Store> Karen<S> {
    /// Everything needed to answer a message of a customer (or to write to them, without
    /// one): the customer, effective preferences for the message's medium, consent per channel,
    /// the contact plan, the thread, the newest messages overall and per medium, analytics,
    /// and the services matching the message with their quotes.
    pub async fn reply_context(&self, req: ContextRequest) -> StoreResult<ReplyContext> {
        let around = req.conversation_id.map_or(Around::None, Around::Id);
        self.context_around(req.customer_id, around, req.history).await
    }

    /// The reply context of the message with this (medium, external_id): the one just received.
    pub async fn reply_context_by_message(
        &self,
        medium: Medium,
        external_id: &str,
        history: u32,
    ) -> StoreResult<ReplyContext> {
        check_history(history)?;
        let message = self.conversation_by_external_id(medium, external_id).await?;
        self.context_around(message.customer_id, Around::Known(Box::new(message)), history).await
    }

    async fn context_around(&self, customer_id: Uuid, around: Around, history: u32) -> StoreResult<ReplyContext> {
        check_history(history)?;
        let now = self.now();
        let today = self.business_today();
        let message_part = async {
            let message = match around {
                Around::None => return Ok((None, Vec::new(), Vec::new())),
                Around::Known(m) => *m,
                Around::Id(id) => self.store.get::<Conversation>(id).await?,
            };
            if message.customer_id != customer_id {
                return Err(StoreError::invalid("conversation_id", "names a message of another customer"));
            }
            let terms = message_terms(&message);
            let thread = async {
                match &message.conversation_thread_id {
                    Some(t) => Ok(self
                        .store
                        .thread_messages(t)
                        .await?
                        .into_iter()
                        .filter(|c| c.customer_id == customer_id)
                        .collect()),
                    None => Ok(vec![message.clone()]),
                }
            };
            let services = async {
                if terms.is_empty() {
                    return Ok(Vec::new());
                }
                self.catalog.match_and_quote(&self.store, &terms, MAX_MATCHED_SERVICES, today).await
            };
            let (thread, services) = try_join!(thread, services)?;
            Ok((Some(message), thread, services))
        };
        let history_q =
            HistoryQuery { customer_id, medium: None, before: None, limit: history, customer_must_exist: false };
        let from = now - Duration::days(i64::from(ANALYTICS_DAYS));
        let (customer, rows, ledger, (message, thread, services), history, latest, counts) = try_join!(
            self.store.get::<Customer>(customer_id),
            self.all_preferences(customer_id),
            self.consent_ledger(customer_id),
            message_part,
            self.store.conversation_history(&history_q),
            self.store.latest_by_medium(customer_id),
            self.store.communication_counts(customer_id, from, now),
        )?;
        let medium = message.as_ref().and_then(|m| m.medium.preference_medium());
        let general = resolve::resolve(&rows, None, now);
        let urgency = match message.as_ref().and_then(|m| m.priority) {
            Some(MessagePriority::Urgent) => Urgency::Urgent,
            _ => Urgency::Normal,
        };
        let state = crate::consent::current(customer_id, &ledger);
        let contact_plan = plan::plan(&general, &state, now, urgency);
        let consent = state
            .channels
            .iter()
            .map(|s| {
                let medium = s.channel.medium();
                let (allowed, reason) = match s.refusal() {
                    Some(why) => (false, why),
                    None if !contact_plan.channels.contains(&medium) => {
                        (false, "avoided by the customer's communication_method.avoid_channels preference".into())
                    }
                    None => (true, "consented, and not avoided by the customer's preferences".into()),
                };
                ChannelConsent { channel: medium, allowed, reason, record: s.record.clone() }
            })
            .collect();
        Ok(ReplyContext {
            customer,
            preferences: if medium.is_some() { resolve::resolve(&rows, medium, now) } else { general },
            message,
            consent,
            contact_plan,
            thread,
            history,
            latest_by_medium: latest,
            analytics: stats(counts),
            services,
        })
    }
}

/// Per-medium analytics from the store's counts, ordered by medium.
pub(crate) fn stats(mut counts: Vec<crate::query::MediumCounts>) -> Vec<MediumStats> {
    counts.sort_by_key(|c| c.medium.as_str());
    counts.into_iter().map(MediumStats::from_counts).collect()
}

fn check_history(history: u32) -> StoreResult<()> {
    if !(1..=MAX_HISTORY).contains(&history) {
        return Err(StoreError::invalid("history", format!("must be between 1 and {MAX_HISTORY}")));
    }
    Ok(())
}
