//! `customer_consents`: the consent ledger (decisions.md item 24). Each change of a customer's
//! consent on a channel is a row; the current status is the latest row; rows are never edited
//! and are erased with their customer.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::entity::{Entity, EntityKind};
use crate::enums::{ConsentCause, ConsentChannel, ConsentStatus};
use crate::error::StoreResult;
use crate::validate as v;

crate::entity_struct! {
    /// One change of consent on one channel.
    pub struct ConsentRecord {
        /// Primary key (UUIDv7: the ledger's order).
        pub id: Uuid = Uuid,
        /// The customer.
        pub customer_id: Uuid = Uuid,
        /// sms, email or voice.
        pub channel: ConsentChannel = Text,
        /// opted_in or opted_out.
        pub status: ConsentStatus = Text,
        /// keyword, request or unsubscribe.
        pub cause: ConsentCause = Text,
        /// The keyword that caused it (STOP, START, ...), when a keyword did.
        pub keyword: Option<String> = Text,
        /// The message it came from (a keyword's SMS, the request's message).
        pub conversation_id: Option<Uuid> = Uuid,
        /// Why, in words (at most 500 characters).
        pub note: Option<String> = Text,
        /// Who recorded it (at most 50 characters).
        pub recorded_by: String = Text,
        /// When it was recorded, by karen's clock.
        pub recorded_at: DateTime<Utc> = Timestamp,
    }
}

impl Default for ConsentRecord {
    fn default() -> Self {
        ConsentRecord {
            id: Uuid::nil(),
            customer_id: Uuid::nil(),
            channel: ConsentChannel::Sms,
            status: ConsentStatus::OptedOut,
            cause: ConsentCause::Request,
            keyword: None,
            conversation_id: None,
            note: None,
            recorded_by: super::system(),
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

impl Entity for ConsentRecord {
    const KIND: EntityKind = EntityKind::Consent;
    const IMMUTABLE: &'static [&'static str] = &[
        "id",
        "customer_id",
        "channel",
        "status",
        "cause",
        "keyword",
        "conversation_id",
        "note",
        "recorded_by",
        "recorded_at",
    ];
    const FILTERS: &'static [&'static str] = &["customer_id", "channel", "status"];
    const SAME_CUSTOMER: &'static [&'static str] = &["conversation_id"];
    super::record_methods!();

    crate::field_rules!(keyword: MaxLen(20), note: MaxLen(500), recorded_by: Text(50));

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating {
            self.recorded_at = v::to_micros(now);
        }
    }
}
