//! `customers` (schema-design.md section 4.1).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::entity::{Entity, EntityKind, Unique};
use crate::enums::{CustomerStatus, CustomerTier, CustomerType};
use crate::error::StoreResult;
use crate::validate as v;

crate::entity_struct! {
    /// A customer of the business.
    pub struct Customer {
        /// Primary key (UUIDv7 when karen creates it).
        pub id: Uuid = Uuid,
        /// Id in an external system; unique.
        pub external_id: Option<String> = Text,
        /// Given name (at most 100 characters).
        pub first_name: Option<String> = Text,
        /// Family name (at most 100 characters).
        pub last_name: Option<String> = Text,
        /// Company name (at most 200 characters).
        pub company_name: Option<String> = Text,
        /// Individual or business.
        pub customer_type: CustomerType = Text,
        /// Main e-mail; unique case-insensitively (decisions.md item 4).
        pub primary_email: Option<String> = Text,
        /// Main phone, E.164.
        pub primary_phone: Option<String> = Text,
        /// Second e-mail.
        pub secondary_email: Option<String> = Text,
        /// Second phone, E.164.
        pub secondary_phone: Option<String> = Text,
        /// Billing address (a JSON object).
        pub billing_address: Option<serde_json::Value> = Json,
        /// Service address (a JSON object).
        pub service_address: Option<serde_json::Value> = Json,
        /// Active, inactive or blocked.
        pub status: CustomerStatus = Text,
        /// Standard, premium or VIP.
        pub customer_tier: CustomerTier = Text,
        /// Summary of the effective preferred channel.
        pub preferred_contact_method: Option<String> = Text,
        /// Summary of the effective preferred contact time.
        pub preferred_contact_time: Option<String> = Text,
        /// Summary of the effective communication style.
        pub communication_style: Option<String> = Text,
        /// How the customer found the business.
        pub referral_source: Option<String> = Text,
        /// First day as a customer; today when not given.
        pub customer_since: Option<NaiveDate> = Date,
        /// Revenue to date, DECIMAL(10,2) >= 0.
        pub lifetime_value: Decimal = Decimal(2),
        /// Jobs done, >= 0.
        pub total_jobs: i32 = Int,
        /// Free notes.
        pub notes: Option<String> = Text,
        /// Free tags.
        pub tags: Vec<String> = TextArray,
        /// Free metadata (a JSON object).
        pub metadata: Option<serde_json::Value> = Json,
        /// Set by the store on create.
        pub created_at: DateTime<Utc> = Timestamp,
        /// Set by the store on every update.
        pub updated_at: DateTime<Utc> = Timestamp,
        /// Last time the business and the customer exchanged a message.
        pub last_contact_at: Option<DateTime<Utc>> = Timestamp,
    }
}

impl Default for Customer {
    fn default() -> Self {
        Customer {
            id: Uuid::nil(),
            external_id: None,
            first_name: None,
            last_name: None,
            company_name: None,
            customer_type: CustomerType::Individual,
            primary_email: None,
            primary_phone: None,
            secondary_email: None,
            secondary_phone: None,
            billing_address: None,
            service_address: None,
            status: CustomerStatus::Active,
            customer_tier: CustomerTier::Standard,
            preferred_contact_method: None,
            preferred_contact_time: None,
            communication_style: None,
            referral_source: None,
            customer_since: None,
            lifetime_value: Decimal::ZERO,
            total_jobs: 0,
            notes: None,
            tags: Vec::new(),
            metadata: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            last_contact_at: None,
        }
    }
}

impl Entity for Customer {
    const KIND: EntityKind = EntityKind::Customer;
    const IMMUTABLE: &'static [&'static str] = &["id", "created_at", "updated_at"];
    const FILTERS: &'static [&'static str] = &["status", "customer_tier", "customer_type"];
    const UNIQUES: &'static [Unique] = &[
        Unique {
            case_insensitive: true,
            ..Unique::new(
                "uq__customers__primary_email",
                &["primary_email"],
                "primary_email must be unique (case-insensitive)",
            )
        },
        Unique::new("uq__customers__external_id", &["external_id"], "external_id must be unique"),
    ];
    super::record_methods!();

    crate::field_rules!(
        external_id: MaxLen(255),
        first_name: MaxLen(100),
        last_name: MaxLen(100),
        company_name: MaxLen(200),
        primary_email: Email,
        secondary_email: Email,
        primary_phone: Phone,
        secondary_phone: Phone,
        billing_address: Object,
        service_address: Object,
        preferred_contact_method: MaxLen(20),
        preferred_contact_time: MaxLen(50),
        communication_style: MaxLen(20),
        referral_source: MaxLen(100),
        lifetime_value: Money,
        total_jobs: Int(0, i32::MAX),
        tags: Items(100),
        metadata: Object,
    );

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()?;
        v::opt_micros(&mut self.last_contact_at);
        Ok(())
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating {
            self.created_at = now;
            self.customer_since.get_or_insert(now.date_naive());
        }
        self.updated_at = now;
    }
}
