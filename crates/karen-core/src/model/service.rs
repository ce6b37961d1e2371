//! `services` (schema-design.md section 3.2, decisions.md items 3 and 6).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::entity::{Entity, EntityKind, Unique};
use crate::enums::PricingModel;
use crate::error::{StoreError, StoreResult};

crate::entity_struct! {
    /// A service the business sells, with its pricing model.
    pub struct Service {
        /// Primary key.
        pub id: Uuid = Uuid,
        /// Its category (which cannot be deleted while it has services).
        pub category_id: Uuid = Uuid,
        /// Name (at most 200 characters).
        pub name: String = Text,
        /// URL slug, unique.
        pub slug: String = Text,
        /// Short description (at most 500 characters).
        pub short_description: Option<String> = Text,
        /// Full description.
        pub full_description: Option<String> = Text,
        /// Fixed, hourly, estimate or tiered.
        pub pricing_model: PricingModel = Text,
        /// Base price; required for `fixed`.
        pub base_price: Option<Decimal> = Decimal(2),
        /// Hourly rate; required for `hourly`.
        pub hourly_rate: Option<Decimal> = Decimal(2),
        /// Minimum charge (<= maximum_charge).
        pub minimum_charge: Option<Decimal> = Decimal(2),
        /// Maximum charge.
        pub maximum_charge: Option<Decimal> = Decimal(2),
        /// ISO 4217 code.
        pub currency: String = Text,
        /// Expected duration, > 0.
        pub estimated_duration_minutes: Option<i32> = Int,
        /// 1 (easy) to 5 (hard).
        pub difficulty_level: Option<i32> = Int,
        /// Needs a permit.
        pub requires_permit: bool = Bool,
        /// Offered as an emergency service.
        pub emergency_service: bool = Bool,
        /// Warranty in days, >= 0.
        pub warranty_period_days: i32 = Int,
        /// Inactive services are never found by search.
        pub is_active: bool = Bool,
        /// Featured services come first in search.
        pub is_featured: bool = Bool,
        /// Areas where it is offered.
        pub availability_zones: Vec<String> = TextArray,
        /// Seasons or months when it is offered.
        pub seasonal_availability: Option<serde_json::Value> = Json,
        /// Skills needed.
        pub required_skills: Vec<String> = TextArray,
        /// Tools needed.
        pub required_tools: Vec<String> = TextArray,
        /// Materials needed.
        pub required_materials: Vec<String> = TextArray,
        /// Services that must be done first.
        pub prerequisites: Vec<String> = TextArray,
        /// SEO title.
        pub seo_title: Option<String> = Text,
        /// SEO description.
        pub seo_description: Option<String> = Text,
        /// Search keywords (matched case-insensitively, by word).
        pub keywords: Vec<String> = TextArray,
        /// Image addresses.
        pub image_urls: Vec<String> = TextArray,
        /// Free metadata (a JSON object).
        pub metadata: Option<serde_json::Value> = Json,
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

impl Default for Service {
    fn default() -> Self {
        Service {
            id: Uuid::nil(),
            category_id: Uuid::nil(),
            name: String::new(),
            slug: String::new(),
            short_description: None,
            full_description: None,
            pricing_model: PricingModel::Estimate,
            base_price: None,
            hourly_rate: None,
            minimum_charge: None,
            maximum_charge: None,
            currency: super::usd(),
            estimated_duration_minutes: None,
            difficulty_level: None,
            requires_permit: false,
            emergency_service: false,
            warranty_period_days: 90,
            is_active: true,
            is_featured: false,
            availability_zones: Vec::new(),
            seasonal_availability: None,
            required_skills: Vec::new(),
            required_tools: Vec::new(),
            required_materials: Vec::new(),
            prerequisites: Vec::new(),
            seo_title: None,
            seo_description: None,
            keywords: Vec::new(),
            image_urls: Vec::new(),
            metadata: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            created_by: super::system(),
            updated_by: super::system(),
        }
    }
}

impl Entity for Service {
    const KIND: EntityKind = EntityKind::Service;
    const IMMUTABLE: &'static [&'static str] = &["id", "created_at", "updated_at"];
    const FILTERS: &'static [&'static str] =
        &["category_id", "is_active", "is_featured", "pricing_model", "emergency_service"];
    const UNIQUES: &'static [Unique] = &[Unique::new("uq__services__slug", &["slug"], "slug must be unique")];
    super::record_methods!();

    crate::field_rules!(
        name: Text(200),
        slug: Slug(200),
        short_description: MaxLen(500),
        base_price: Money,
        hourly_rate: Money,
        minimum_charge: Money,
        maximum_charge: Money,
        currency: Currency,
        estimated_duration_minutes: Int(1, i32::MAX),
        difficulty_level: Int(1, 5),
        warranty_period_days: Int(0, i32::MAX),
        availability_zones: Items(100),
        keywords: Items(100),
        seo_title: MaxLen(200),
        metadata: Object,
        created_by: Text(50),
        updated_by: Text(50),
    );

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()?;
        if let (Some(min), Some(max)) = (self.minimum_charge, self.maximum_charge) {
            if min > max {
                return Err(StoreError::invalid("minimum_charge", "must be <= maximum_charge"));
            }
        }
        match self.pricing_model {
            PricingModel::Fixed if self.base_price.is_none() => {
                return Err(StoreError::invalid("base_price", "is required when pricing_model is fixed"));
            }
            PricingModel::Hourly if self.hourly_rate.is_none() => {
                return Err(StoreError::invalid("hourly_rate", "is required when pricing_model is hourly"));
            }
            _ => {}
        }
        Ok(())
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating {
            self.created_at = now;
        }
        self.updated_at = now;
    }
}

impl Service {
    /// The distinct lower-case words of the keywords, sorted: what word search matches
    /// (decisions.md item 19), indexed by the catalog snapshot (K23, K28). The word rule is
    /// [`crate::query::words`], the same one that splits a search's query.
    pub fn search_terms(&self) -> Vec<String> {
        let mut terms: Vec<String> = self.keywords.iter().flat_map(|k| crate::query::words(k)).collect();
        terms.sort();
        terms.dedup();
        terms
    }
}
