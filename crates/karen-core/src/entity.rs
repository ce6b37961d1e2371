//! The [`Entity`] trait: what every stored type tells the store about itself.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Serialize};
use uuid::Uuid;

use crate::error::StoreResult;
use crate::value::{Field, Record};

/// The nine entities of the design, with their SQL table and Firestore collection names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// `customers`
    Customer,
    /// `customer_preferences` (`customers/{id}/preferences` in Firestore)
    CustomerPreference,
    /// `conversations`
    Conversation,
    /// `conversation_attachments` (`conversations/{id}/attachments`)
    ConversationAttachment,
    /// `service_categories`
    ServiceCategory,
    /// `services`
    Service,
    /// `service_pricing_tiers` (`services/{id}/pricing_tiers`)
    ServicePricingTier,
    /// `service_packages`
    ServicePackage,
    /// `package_services` (`service_packages/{id}/services`)
    PackageService,
    /// `api_tokens`: karen's own table of HTTP API tokens (hashes only).
    ApiToken,
    /// `customer_preference_history` (`customers/{id}/preference_history`), decisions.md item 18.
    PreferenceHistory,
}

impl EntityKind {
    /// All kinds, parents before children (the creation order of decisions.md item 1).
    pub const ALL: [EntityKind; 11] = [
        EntityKind::Customer,
        EntityKind::Conversation,
        EntityKind::CustomerPreference,
        EntityKind::ConversationAttachment,
        EntityKind::ServiceCategory,
        EntityKind::Service,
        EntityKind::ServicePricingTier,
        EntityKind::ServicePackage,
        EntityKind::PackageService,
        EntityKind::ApiToken,
        EntityKind::PreferenceHistory,
    ];

    /// The SQL table name.
    pub fn table(self) -> &'static str {
        match self {
            EntityKind::Customer => "customers",
            EntityKind::CustomerPreference => "customer_preferences",
            EntityKind::Conversation => "conversations",
            EntityKind::ConversationAttachment => "conversation_attachments",
            EntityKind::ServiceCategory => "service_categories",
            EntityKind::Service => "services",
            EntityKind::ServicePricingTier => "service_pricing_tiers",
            EntityKind::ServicePackage => "service_packages",
            EntityKind::PackageService => "package_services",
            EntityKind::ApiToken => "api_tokens",
            EntityKind::PreferenceHistory => "customer_preference_history",
        }
    }

    /// The singular name used in messages and errors.
    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Customer => "customer",
            EntityKind::CustomerPreference => "customer_preference",
            EntityKind::Conversation => "conversation",
            EntityKind::ConversationAttachment => "conversation_attachment",
            EntityKind::ServiceCategory => "service_category",
            EntityKind::Service => "service",
            EntityKind::ServicePricingTier => "service_pricing_tier",
            EntityKind::ServicePackage => "service_package",
            EntityKind::PackageService => "package_service",
            EntityKind::ApiToken => "api_token",
            EntityKind::PreferenceHistory => "preference_history",
        }
    }
}

/// A stored type: its field table, its conversion to and from a [`Record`], and its rules.
pub trait Entity:
    Clone + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + Unpin + 'static
{
    /// Which entity this is.
    const KIND: EntityKind;
    /// Every field, in storage order; the first is always `id`.
    const FIELDS: &'static [Field];
    /// Fields a partial update may not change (ids, parent ids, store-maintained timestamps).
    const IMMUTABLE: &'static [&'static str];
    /// Fields a listing may filter on by equality.
    const FILTERS: &'static [&'static str];

    /// The entity's id.
    fn id(&self) -> Uuid;
    /// Sets the id (used when creating without one).
    fn set_id(&mut self, id: Uuid);
    /// The JSON Schema of the entity's JSON form (for the OpenAPI document).
    fn json_schema() -> serde_json::Value;
    /// The entity as field values.
    fn to_record(&self) -> Record;
    /// Rebuilds the entity from field values read by a backend.
    fn from_record(record: Record) -> StoreResult<Self>;
    /// Normalises what has a canonical form (phone numbers, timestamp precision, decimal scale)
    /// and checks every rule of the design and decisions.md, naming the field that breaks one.
    fn validate(&mut self) -> StoreResult<()>;
    /// Sets store-maintained timestamps: on create all of them, on update `updated_at`.
    fn stamp(&mut self, now: DateTime<Utc>, creating: bool);
}

/// What deleting a referenced row does to the rows that refer to it (decisions.md item 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// The referring rows are deleted too.
    Cascade,
    /// The referring field is cleared.
    SetNull,
    /// The delete is refused while referring rows exist.
    Restrict,
}

/// A reference (foreign key) from a field of one entity to the id of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// The entity holding the reference.
    pub from: EntityKind,
    /// The referring field.
    pub field: &'static str,
    /// The referenced entity.
    pub to: EntityKind,
    /// What a delete of the referenced row does.
    pub on_delete: OnDelete,
}

/// Every reference of the design, with the delete actions of decisions.md item 1. Backends
/// without foreign keys enforce these themselves; SQL backends use them to name the field of a
/// foreign-key error.
pub const REFERENCES: &[Reference] = &[
    Reference {
        from: EntityKind::CustomerPreference,
        field: "customer_id",
        to: EntityKind::Customer,
        on_delete: OnDelete::Cascade,
    },
    Reference {
        from: EntityKind::CustomerPreference,
        field: "learned_from_interaction_id",
        to: EntityKind::Conversation,
        on_delete: OnDelete::SetNull,
    },
    Reference {
        from: EntityKind::Conversation,
        field: "customer_id",
        to: EntityKind::Customer,
        on_delete: OnDelete::Cascade,
    },
    Reference {
        from: EntityKind::Conversation,
        field: "response_id",
        to: EntityKind::Conversation,
        on_delete: OnDelete::SetNull,
    },
    Reference {
        from: EntityKind::ConversationAttachment,
        field: "conversation_id",
        to: EntityKind::Conversation,
        on_delete: OnDelete::Cascade,
    },
    Reference {
        from: EntityKind::ServiceCategory,
        field: "parent_category_id",
        to: EntityKind::ServiceCategory,
        on_delete: OnDelete::Restrict,
    },
    Reference {
        from: EntityKind::Service,
        field: "category_id",
        to: EntityKind::ServiceCategory,
        on_delete: OnDelete::Restrict,
    },
    Reference {
        from: EntityKind::ServicePricingTier,
        field: "service_id",
        to: EntityKind::Service,
        on_delete: OnDelete::Cascade,
    },
    Reference {
        from: EntityKind::PackageService,
        field: "package_id",
        to: EntityKind::ServicePackage,
        on_delete: OnDelete::Cascade,
    },
    Reference {
        from: EntityKind::PackageService,
        field: "service_id",
        to: EntityKind::Service,
        on_delete: OnDelete::Cascade,
    },
];

impl EntityKind {
    /// The references this entity holds.
    pub fn references(self) -> impl Iterator<Item = &'static Reference> {
        REFERENCES.iter().filter(move |r| r.from == self)
    }

    /// The references that point at this entity.
    pub fn referrers(self) -> impl Iterator<Item = &'static Reference> {
        REFERENCES.iter().filter(move |r| r.to == self)
    }
}
