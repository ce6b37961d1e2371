//! `customer_preference_history`: earlier versions of preferences and contradicted evidence,
//! appended in the transaction of the change, never edited, erased with the customer
//! (decisions.md item 18).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::entity::{Entity, EntityKind};
use crate::enums::{HistoryReason, PreferenceMedium, PreferenceSource, PreferenceType};
use crate::error::StoreResult;
use crate::model::CustomerPreference;
use crate::validate as v;

crate::entity_struct! {
    /// One archived version of a preference.
    pub struct PreferenceHistory {
        /// Primary key of the history row.
        pub id: Uuid = Uuid,
        /// The id of the preference row it was a version of.
        pub preference_id: Uuid = Uuid,
        /// The customer.
        pub customer_id: Uuid = Uuid,
        /// Preference type.
        pub preference_type: PreferenceType = Text,
        /// Preference key.
        pub preference_key: String = Text,
        /// The value it held.
        pub preference_value: serde_json::Value = Json,
        /// Its confidence.
        pub confidence_score: Decimal = Decimal(2),
        /// Its source.
        pub source: PreferenceSource = Text,
        /// Its medium.
        pub medium: PreferenceMedium = Text,
        /// Its context.
        pub context: Option<serde_json::Value> = Json,
        /// The conversation it was learned from.
        pub learned_from_interaction_id: Option<Uuid> = Uuid,
        /// When it was learned.
        pub learned_at: Option<DateTime<Utc>> = Timestamp,
        /// When it would have expired.
        pub expires_at: Option<DateTime<Utc>> = Timestamp,
        /// Whether it was active.
        pub is_active: bool = Bool,
        /// Its priority.
        pub priority: i32 = Int,
        /// When the preference row was created.
        pub created_at: DateTime<Utc> = Timestamp,
        /// When the version was last written.
        pub updated_at: DateTime<Utc> = Timestamp,
        /// Who created the preference.
        pub created_by: String = Text,
        /// Who last changed it.
        pub updated_by: String = Text,
        /// When this version stopped being current (or the evidence was recorded).
        pub superseded_at: DateTime<Utc> = Timestamp,
        /// The conversation or caller that caused the change.
        pub caused_by: Option<String> = Text,
        /// Superseded, contradicted, deactivated, expired or deleted.
        pub reason: HistoryReason = Text,
    }
}

impl Default for PreferenceHistory {
    fn default() -> Self {
        PreferenceHistory::of(
            &CustomerPreference::default(),
            HistoryReason::Superseded,
            DateTime::<Utc>::UNIX_EPOCH,
            None,
        )
    }
}

impl PreferenceHistory {
    /// The archived form of `p`, recorded at `at` for `reason`, caused by `caused_by`.
    pub fn of(p: &CustomerPreference, reason: HistoryReason, at: DateTime<Utc>, caused_by: Option<String>) -> Self {
        PreferenceHistory {
            id: Uuid::now_v7(),
            preference_id: p.id,
            customer_id: p.customer_id,
            preference_type: p.preference_type,
            preference_key: p.preference_key.clone(),
            preference_value: p.preference_value.clone(),
            confidence_score: p.confidence_score,
            source: p.source,
            medium: p.medium,
            context: p.context.clone(),
            learned_from_interaction_id: p.learned_from_interaction_id,
            learned_at: p.learned_at,
            expires_at: p.expires_at,
            is_active: p.is_active,
            priority: p.priority,
            created_at: p.created_at,
            updated_at: p.updated_at,
            created_by: p.created_by.clone(),
            updated_by: p.updated_by.clone(),
            superseded_at: at,
            caused_by,
            reason,
        }
    }
}

impl Entity for PreferenceHistory {
    const KIND: EntityKind = EntityKind::PreferenceHistory;
    const IMMUTABLE: &'static [&'static str] = &[
        "id",
        "preference_id",
        "customer_id",
        "preference_type",
        "preference_key",
        "preference_value",
        "confidence_score",
        "source",
        "medium",
        "context",
        "learned_from_interaction_id",
        "learned_at",
        "expires_at",
        "is_active",
        "priority",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "superseded_at",
        "caused_by",
        "reason",
    ];
    const FILTERS: &'static [&'static str] = &["customer_id", "preference_type", "preference_key", "reason"];
    super::record_methods!();

    crate::field_rules!(confidence_score: Confidence, caused_by: MaxLen(255));

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()?;
        self.superseded_at = v::to_micros(self.superseded_at);
        Ok(())
    }

    fn stamp(&mut self, _now: DateTime<Utc>, _creating: bool) {}
}
