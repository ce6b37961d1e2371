//! `service_packages` and `package_services` (schema-design.md sections 3.4 and 3.5).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::entity::{Entity, EntityKind, Unique};
use crate::enums::PackageType;
use crate::error::{StoreError, StoreResult};

crate::entity_struct! {
    /// A bundle of services sold together.
    pub struct ServicePackage {
        /// Primary key.
        pub id: Uuid = Uuid,
        /// Name (at most 200 characters).
        pub name: String = Text,
        /// URL slug, unique.
        pub slug: String = Text,
        /// Description.
        pub description: Option<String> = Text,
        /// Bundle, maintenance or seasonal.
        pub package_type: PackageType = Text,
        /// Price of the whole package, >= 0.
        pub total_price: Decimal = Decimal(2),
        /// Savings over buying separately, >= 0.
        pub savings_amount: Decimal = Decimal(2),
        /// ISO 4217 code.
        pub currency: String = Text,
        /// Expected duration in hours, DECIMAL(4,2) > 0.
        pub estimated_duration_hours: Option<Decimal> = Decimal(2),
        /// Days the package stays valid, > 0.
        pub validity_period_days: i32 = Int,
        /// Uses allowed (maintenance packages), > 0.
        pub max_uses: Option<i32> = Int,
        /// Inactive packages are not offered.
        pub is_active: bool = Bool,
        /// Featured packages are shown first.
        pub is_featured: bool = Bool,
        /// First day on sale (<= available_until).
        pub available_from: Option<NaiveDate> = Date,
        /// Last day on sale.
        pub available_until: Option<NaiveDate> = Date,
        /// Terms and conditions.
        pub terms_and_conditions: Option<String> = Text,
        /// Image addresses.
        pub image_urls: Vec<String> = TextArray,
        /// Set by the store on create.
        pub created_at: DateTime<Utc> = Timestamp,
        /// Set by the store on every update.
        pub updated_at: DateTime<Utc> = Timestamp,
    }
}

impl Default for ServicePackage {
    fn default() -> Self {
        ServicePackage {
            id: Uuid::nil(),
            name: String::new(),
            slug: String::new(),
            description: None,
            package_type: PackageType::Bundle,
            total_price: Decimal::ZERO,
            savings_amount: Decimal::ZERO,
            currency: super::usd(),
            estimated_duration_hours: None,
            validity_period_days: 365,
            max_uses: None,
            is_active: true,
            is_featured: false,
            available_from: None,
            available_until: None,
            terms_and_conditions: None,
            image_urls: Vec::new(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

impl Entity for ServicePackage {
    const KIND: EntityKind = EntityKind::ServicePackage;
    const IMMUTABLE: &'static [&'static str] = &["id", "created_at", "updated_at"];
    const FILTERS: &'static [&'static str] = &["is_active", "is_featured", "package_type"];
    const UNIQUES: &'static [Unique] = &[Unique::new("uq__service_packages__slug", &["slug"], "slug must be unique")];
    super::record_methods!();

    crate::field_rules!(
        name: Text(200),
        slug: Slug(200),
        total_price: Money,
        savings_amount: Money,
        currency: Currency,
        estimated_duration_hours: Positive(4, 2),
        validity_period_days: Int(1, i32::MAX),
        max_uses: Int(1, i32::MAX),
    );

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()?;
        if let (Some(from), Some(until)) = (self.available_from, self.available_until) {
            if from > until {
                return Err(StoreError::invalid("available_from", "must be on or before available_until"));
            }
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

crate::entity_struct! {
    /// A service included in a package; each service at most once per package.
    pub struct PackageService {
        /// Primary key.
        pub id: Uuid = Uuid,
        /// The package.
        pub package_id: Uuid = Uuid,
        /// The included service.
        pub service_id: Uuid = Uuid,
        /// How many, > 0.
        pub quantity: i32 = Int,
        /// Price of this part within the package, >= 0.
        pub included_price: Option<Decimal> = Decimal(2),
        /// Optional part of the package.
        pub is_optional: bool = Bool,
        /// Order within the package.
        pub sort_order: i32 = Int,
        /// Notes.
        pub notes: Option<String> = Text,
    }
}

impl Default for PackageService {
    fn default() -> Self {
        PackageService {
            id: Uuid::nil(),
            package_id: Uuid::nil(),
            service_id: Uuid::nil(),
            quantity: 1,
            included_price: None,
            is_optional: false,
            sort_order: 0,
            notes: None,
        }
    }
}

impl Entity for PackageService {
    const KIND: EntityKind = EntityKind::PackageService;
    const IMMUTABLE: &'static [&'static str] = &["id", "package_id"];
    const FILTERS: &'static [&'static str] = &["package_id", "service_id"];
    const UNIQUES: &'static [Unique] = &[Unique::new(
        "uq__package_services__service_id",
        &["package_id", "service_id"],
        "a service appears at most once in a package",
    )];
    super::record_methods!();

    crate::field_rules!(quantity: Int(1, i32::MAX), included_price: Money);

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()
    }

    fn stamp(&mut self, _now: DateTime<Utc>, _creating: bool) {}
}
