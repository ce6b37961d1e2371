//! Consent (decisions.md item 24) on [`Karen`]: the ledger, explicit changes, and the rules
//! every recorded message goes through (an inbound SMS keyword is applied in the message's own
//! transaction; an outbound message on an opted-out channel is refused).

use uuid::Uuid;

use super::{checked, Karen};
use crate::consent::{self, ConsentChange, ConsentState};
use crate::entity::Entity;
use crate::enums::{ConsentCause, ConsentChannel, Direction, Medium};
use crate::error::{StoreError, StoreResult};
use crate::model::{ConsentRecord, Conversation, ConversationAttachment, Customer};
use crate::store::{list_every, Store};
use crate::value::Value;

impl<S: Store> Karen<S> {
    /// Every ledger row of a customer, oldest first (id order).
    pub async fn consent_ledger(&self, customer_id: Uuid) -> StoreResult<Vec<ConsentRecord>> {
        list_every(&self.store, vec![("customer_id", Value::Uuid(customer_id))]).await
    }

    /// The current consent of a customer on every channel, with the row that set it; not
    /// found when the customer does not exist.
    pub async fn consent(&self, customer_id: Uuid) -> StoreResult<ConsentState> {
        let (_, rows) =
            futures_util::try_join!(self.store.get::<Customer>(customer_id), self.consent_ledger(customer_id))?;
        Ok(consent::current(customer_id, &rows))
    }

    /// Records an explicit change of consent (a request through the API, an unsubscribe): a
    /// new ledger row, never an edit of one.
    pub async fn change_consent(&self, customer_id: Uuid, change: ConsentChange) -> StoreResult<ConsentRecord> {
        let mut row = ConsentRecord {
            id: Uuid::now_v7(),
            customer_id,
            channel: change.channel,
            status: change.status,
            cause: change.cause.unwrap_or(ConsentCause::Request),
            keyword: None,
            conversation_id: change.conversation_id,
            note: change.note,
            recorded_by: change.recorded_by.unwrap_or_else(|| "api".into()),
            recorded_at: self.now(),
        };
        match row.cause {
            ConsentCause::Keyword => {
                return Err(StoreError::invalid("cause", "keyword changes come from inbound SMS, not the API"))
            }
            ConsentCause::Merge => {
                return Err(StoreError::invalid("cause", "merge changes come from merging customers, not the API"))
            }
            ConsentCause::Request | ConsentCause::Unsubscribe => {}
        }
        let record = checked(&mut row)?;
        row.stamp(self.now(), true);
        self.check_relations(&row, &record).await?;
        match self.store.insert(&row).await {
            Err(StoreError::Reference { field, .. }) if field == "customer_id" => {
                Err(StoreError::not_found("customer", customer_id))
            }
            other => other,
        }
    }

    /// Stores a checked, stamped message with the consent rules of item 24 (see the module).
    pub(crate) async fn insert_message(
        &self,
        message: Conversation,
        attachments: &[ConversationAttachment],
        if_new: bool,
    ) -> StoreResult<(Conversation, bool)> {
        let Some(channel) = ConsentChannel::of(message.medium) else {
            return self.store.insert_message(&message, None, attachments, if_new).await;
        };
        let keyword = match (message.direction, message.medium) {
            (Direction::Inbound, Medium::Sms) => consent::keyword(&message.content),
            _ => None,
        };
        if message.direction == Direction::Inbound && keyword.is_none() {
            return self.store.insert_message(&message, None, attachments, if_new).await;
        }
        // A redelivery is answered with what is stored, whatever consent says now.
        if let (true, Some(external_id)) = (if_new, &message.external_id) {
            if let Some(stored) = self.store.conversation_by_external_id(message.medium, external_id).await? {
                return Ok((stored, false));
            }
        }
        let rows = self.consent_ledger(message.customer_id).await?;
        let state = consent::current(message.customer_id, &rows);
        let now_state = state.channel(channel);
        if message.direction == Direction::Outbound {
            if let Some(why) = now_state.refusal() {
                return Err(StoreError::Conflict { entity: "conversation", rule: format!("not sent: {why}") });
            }
            return self.store.insert_message(&message, None, attachments, if_new).await;
        }
        let (status, word) = keyword.expect("inbound messages without a keyword returned above");
        let change = (now_state.status != status).then(|| ConsentRecord {
            id: Uuid::now_v7(),
            customer_id: message.customer_id,
            channel,
            status,
            cause: ConsentCause::Keyword,
            keyword: Some(word.to_string()),
            conversation_id: Some(message.id),
            note: None,
            recorded_by: "karen".into(),
            recorded_at: crate::validate::to_micros(self.now()),
        });
        self.store.insert_message(&message, change.as_ref(), attachments, if_new).await
    }
}
