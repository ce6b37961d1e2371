//! `customer_preferences` (schema-design.md sections 1.1 to 1.3, decisions.md items 2, 9, 10).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::entity::{Entity, EntityKind, Unique};
use crate::enums::{PreferenceMedium, PreferenceSource, PreferenceType};
use crate::error::StoreResult;
use crate::validate as v;

crate::entity_struct! {
    /// One learned or stated preference of a customer: the current value of
    /// (customer, type, key, medium).
    pub struct CustomerPreference {
        /// Primary key.
        pub id: Uuid = Uuid,
        /// The customer it belongs to.
        pub customer_id: Uuid = Uuid,
        /// One of the six types of section 1.2, or `custom`.
        pub preference_type: PreferenceType = Text,
        /// A key of that type (any snake_case key for `custom`).
        pub preference_key: String = Text,
        /// `{"value": ..., "metadata": {...}}`, validated against the taxonomy.
        pub preference_value: serde_json::Value = Json,
        /// How sure we are, 0.00 to 1.00.
        pub confidence_score: Decimal = Decimal(2),
        /// Explicit, learned, inferred or default.
        pub source: PreferenceSource = Text,
        /// The medium it applies to, `general` for all.
        pub medium: PreferenceMedium = Text,
        /// Additional context (a JSON object).
        pub context: Option<serde_json::Value> = Json,
        /// The conversation it was learned from.
        pub learned_from_interaction_id: Option<Uuid> = Uuid,
        /// When it was learned; now when not given.
        pub learned_at: Option<DateTime<Utc>> = Timestamp,
        /// When it stops applying (a row expiring exactly now is expired).
        pub expires_at: Option<DateTime<Utc>> = Timestamp,
        /// Inactive rows are kept but never apply.
        pub is_active: bool = Bool,
        /// 1 = highest, 5 = lowest.
        pub priority: i32 = Int,
        /// Set by the store on create.
        pub created_at: DateTime<Utc> = Timestamp,
        /// Set by the store on every update.
        pub updated_at: DateTime<Utc> = Timestamp,
        /// Who created it.
        pub created_by: String = Text,
        /// Who last changed it.
        pub updated_by: String = Text,
    }
}

impl Default for CustomerPreference {
    fn default() -> Self {
        CustomerPreference {
            id: Uuid::nil(),
            customer_id: Uuid::nil(),
            preference_type: PreferenceType::Custom,
            preference_key: String::new(),
            preference_value: serde_json::Value::Null,
            confidence_score: Decimal::ZERO,
            source: PreferenceSource::Default,
            medium: PreferenceMedium::General,
            context: None,
            learned_from_interaction_id: None,
            learned_at: None,
            expires_at: None,
            is_active: true,
            priority: 1,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            created_by: super::system(),
            updated_by: super::system(),
        }
    }
}

impl CustomerPreference {
    /// True when the row applies at `now`: active and not expired (expiring exactly now is expired).
    pub fn is_effective_at(&self, now: DateTime<Utc>) -> bool {
        self.is_active && self.expires_at.is_none_or(|e| e > now)
    }
}

impl Entity for CustomerPreference {
    const KIND: EntityKind = EntityKind::CustomerPreference;
    /// The key (customer, type, key, medium) names the preference: changing it would be another
    /// preference, so a patch cannot.
    const IMMUTABLE: &'static [&'static str] =
        &["id", "customer_id", "preference_type", "preference_key", "medium", "created_at", "updated_at"];
    const FILTERS: &'static [&'static str] = &["customer_id", "preference_type", "medium", "is_active"];
    const SAME_CUSTOMER: &'static [&'static str] = &["learned_from_interaction_id"];
    const UNIQUES: &'static [Unique] = &[Unique::new(
        "uq__customer_preferences__preference_key",
        &["customer_id", "preference_type", "preference_key", "medium"],
        "(customer_id, preference_type, preference_key, medium) must be unique",
    )];
    super::record_methods!();

    crate::field_rules!(
        preference_key: crate::taxonomy::PREFERENCE_KEY,
        preference_value: crate::taxonomy::PREFERENCE_VALUE,
        confidence_score: Confidence,
        context: Object,
        priority: Int(1, 5),
        created_by: Text(50),
        updated_by: Text(50),
    );

    fn validate(&mut self) -> StoreResult<()> {
        crate::taxonomy::validate(self.preference_type, &self.preference_key, &self.preference_value)?;
        self.check_rules()?;
        v::opt_micros(&mut self.learned_at);
        v::opt_micros(&mut self.expires_at);
        Ok(())
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating {
            self.created_at = now;
            self.learned_at.get_or_insert(now);
        }
        self.updated_at = now;
    }
}
