//! `service_pricing_tiers` (schema-design.md section 3.3, decisions.md item 6).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::entity::{Entity, EntityKind, Unique};
use crate::enums::TierUnit;
use crate::error::{StoreError, StoreResult};

crate::entity_struct! {
    /// A price tier of a service; at most one per service is the default.
    pub struct ServicePricingTier {
        /// Primary key.
        pub id: Uuid = Uuid,
        /// The service it prices.
        pub service_id: Uuid = Uuid,
        /// Name (at most 100 characters).
        pub tier_name: String = Text,
        /// Description.
        pub tier_description: Option<String> = Text,
        /// Smallest quantity, >= 0.
        pub min_quantity: i32 = Int,
        /// Largest quantity, >= min_quantity.
        pub max_quantity: Option<i32> = Int,
        /// Price, >= 0.
        pub price: Decimal = Decimal(2),
        /// Each, hour, sqft or linear_ft.
        pub unit: Option<TierUnit> = Text,
        /// The price shown by service search.
        pub is_default: bool = Bool,
        /// Order among the service's tiers.
        pub sort_order: i32 = Int,
        /// Set by the store on create.
        pub created_at: DateTime<Utc> = Timestamp,
    }
}

impl Default for ServicePricingTier {
    fn default() -> Self {
        ServicePricingTier {
            id: Uuid::nil(),
            service_id: Uuid::nil(),
            tier_name: String::new(),
            tier_description: None,
            min_quantity: 1,
            max_quantity: None,
            price: Decimal::ZERO,
            unit: None,
            is_default: false,
            sort_order: 0,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

impl Entity for ServicePricingTier {
    const KIND: EntityKind = EntityKind::ServicePricingTier;
    const IMMUTABLE: &'static [&'static str] = &["id", "service_id", "created_at"];
    const FILTERS: &'static [&'static str] = &["service_id", "is_default"];
    const UNIQUES: &'static [Unique] = &[Unique {
        only_when: Some("is_default"),
        ..Unique::new(
            "uq__service_pricing_tiers__is_default",
            &["service_id"],
            "a service has at most one default tier",
        )
    }];
    super::record_methods!();

    crate::field_rules!(tier_name: Text(100), min_quantity: Int(0, i32::MAX), price: Money);

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()?;
        if let Some(max) = self.max_quantity {
            if max < self.min_quantity {
                return Err(StoreError::invalid("max_quantity", "must be >= min_quantity"));
            }
        }
        Ok(())
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating {
            self.created_at = now;
        }
    }
}
