//! The [`Entity`] trait: what every stored type tells the store about itself.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Serialize};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::value::{Field, Record, Value};

/// The entities karen stores: the nine of the design plus its own `api_tokens` and
/// `customer_preference_history`, with their SQL table names.
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
    /// `customer_consents` (`customers/{id}/consents`), the consent ledger of decisions.md item 24.
    Consent,
    /// `webhook_subscriptions`: where change events are POSTed (decisions.md item 27).
    Webhook,
    /// `webhook_deliveries`: every attempt to deliver an event to a subscription.
    WebhookDelivery,
}

impl EntityKind {
    /// All kinds, parents before children (the creation order of decisions.md item 1).
    pub const ALL: [EntityKind; 14] = [
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
        EntityKind::Consent,
        EntityKind::Webhook,
        EntityKind::WebhookDelivery,
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
            EntityKind::Consent => "customer_consents",
            EntityKind::Webhook => "webhook_subscriptions",
            EntityKind::WebhookDelivery => "webhook_deliveries",
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
            EntityKind::Consent => "consent",
            EntityKind::Webhook => "webhook",
            EntityKind::WebhookDelivery => "webhook_delivery",
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
    /// The unique rules of the entity besides its id: a UNIQUE constraint of the same name on
    /// the SQL backends, a marker document on Firestore. Every backend words a conflict from
    /// here ([`unique_violation`]).
    const UNIQUES: &'static [Unique] = &[];
    /// Fields holding the id of a message that must belong to the row's own customer (its
    /// `customer_id`): a reply to, or a preference learned from, another customer's message
    /// is refused naming the field.
    const SAME_CUSTOMER: &'static [&'static str] = &[];
    /// Fields that are never shown outside karen (the stored hash of an API token): the HTTP
    /// API leaves them out of every answer and of its schemas.
    const SECRET_FIELDS: &'static [&'static str] = &[];
    /// The field naming the parent of a row in a tree of rows of the same entity (the category
    /// tree), whose cycle and depth rules [`crate::Karen`] checks before a write.
    const TREE_PARENT: Option<&'static str> = None;

    /// Each field's rules ([`crate::rules`]), which `validate` checks through
    /// [`Entity::check_rules`] and the OpenAPI document states; made by `field_rules!`.
    const RULES: &'static [(&'static str, crate::rules::Rule)] = &[];
    /// Checks every rule of [`Entity::RULES`], normalising what has a canonical form.
    fn check_rules(&mut self) -> StoreResult<()> {
        Ok(())
    }

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

/// A unique rule: which fields, together, no two rows may share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unique {
    /// The constraint's name (`uq__<table>__<field>`) in both SQL schemas and in Firestore's
    /// marker documents.
    pub constraint: &'static str,
    /// The fields, in key order.
    pub fields: &'static [&'static str],
    /// Whether values are compared case-insensitively (the e-mail address).
    pub case_insensitive: bool,
    /// A boolean field that must be true for the rule to apply (a partial index), if any.
    pub only_when: Option<&'static str>,
    /// The rule in words, as a conflict names it.
    pub rule: &'static str,
}

impl Unique {
    /// A rule over `fields` that always applies, compared exactly.
    pub const fn new(constraint: &'static str, fields: &'static [&'static str], rule: &'static str) -> Self {
        Unique { constraint, fields, case_insensitive: false, only_when: None, rule }
    }

    /// The key a row holds under this rule: its field values joined by `:`, lower-cased when
    /// the rule is case-insensitive; none when a field is null or the rule does not apply.
    pub fn key(&self, record: &Record) -> Option<String> {
        let value = |name: &str| record.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
        if let Some(flag) = self.only_when {
            if value(flag) != Some(&Value::Bool(true)) {
                return None;
            }
        }
        let mut parts = Vec::with_capacity(self.fields.len());
        for f in self.fields {
            parts.push(value(f)?);
        }
        self.key_of(&parts)
    }

    /// The key of these field values (in [`Unique::fields`] order); none when one is null.
    pub fn key_of(&self, values: &[&Value]) -> Option<String> {
        let mut parts = Vec::with_capacity(values.len());
        for v in values {
            parts.push(match v {
                Value::Text(t) => t.clone(),
                Value::Uuid(u) => u.to_string(),
                Value::Int(i) => i.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => return None,
                other => format!("{other:?}"),
            });
        }
        let key = parts.join(":");
        Some(if self.case_insensitive { key.to_lowercase() } else { key })
    }
}

/// The conflict for a broken unique rule, from the constraint's name: one of the declared
/// [`Entity::UNIQUES`], or `<table>_pkey` for an id. Every backend reports conflicts through
/// this, so they are worded alike.
pub fn unique_violation(constraint: &str) -> StoreError {
    for kind in EntityKind::ALL {
        if let Some(u) = kind.uniques().iter().find(|u| u.constraint == constraint) {
            return StoreError::Conflict { entity: kind.name(), rule: u.rule.to_string() };
        }
        if constraint.strip_suffix("_pkey") == Some(kind.table()) {
            return StoreError::Conflict { entity: kind.name(), rule: "id must be unique".into() };
        }
    }
    StoreError::Conflict { entity: "row", rule: format!("unique rule {constraint}") }
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
    Reference {
        from: EntityKind::Consent,
        field: "customer_id",
        to: EntityKind::Customer,
        on_delete: OnDelete::Cascade,
    },
    Reference {
        from: EntityKind::Consent,
        field: "conversation_id",
        to: EntityKind::Conversation,
        on_delete: OnDelete::SetNull,
    },
    Reference {
        from: EntityKind::WebhookDelivery,
        field: "webhook_id",
        to: EntityKind::Webhook,
        on_delete: OnDelete::Cascade,
    },
];

impl EntityKind {
    /// Every field of this entity ([`Entity::FIELDS`]).
    pub fn fields(self) -> &'static [crate::value::Field] {
        use crate::model::*;
        match self {
            EntityKind::Customer => Customer::FIELDS,
            EntityKind::CustomerPreference => CustomerPreference::FIELDS,
            EntityKind::Conversation => Conversation::FIELDS,
            EntityKind::ConversationAttachment => ConversationAttachment::FIELDS,
            EntityKind::ServiceCategory => ServiceCategory::FIELDS,
            EntityKind::Service => Service::FIELDS,
            EntityKind::ServicePricingTier => ServicePricingTier::FIELDS,
            EntityKind::ServicePackage => ServicePackage::FIELDS,
            EntityKind::PackageService => PackageService::FIELDS,
            EntityKind::ApiToken => ApiToken::FIELDS,
            EntityKind::PreferenceHistory => PreferenceHistory::FIELDS,
            EntityKind::Consent => ConsentRecord::FIELDS,
            EntityKind::Webhook => Webhook::FIELDS,
            EntityKind::WebhookDelivery => WebhookDelivery::FIELDS,
        }
    }

    /// Whether a field of this name is a decimal in some entity (no field name is a decimal in
    /// one entity and of another type in another).
    pub fn is_decimal_field(name: &str) -> bool {
        EntityKind::ALL
            .into_iter()
            .any(|k| k.fields().iter().any(|f| f.name == name && matches!(f.ty, crate::value::FieldType::Decimal(_))))
    }

    /// The unique rules of this entity ([`Entity::UNIQUES`]).
    pub fn uniques(self) -> &'static [Unique] {
        use crate::model::*;
        match self {
            EntityKind::Customer => Customer::UNIQUES,
            EntityKind::CustomerPreference => CustomerPreference::UNIQUES,
            EntityKind::Conversation => Conversation::UNIQUES,
            EntityKind::ConversationAttachment => ConversationAttachment::UNIQUES,
            EntityKind::ServiceCategory => ServiceCategory::UNIQUES,
            EntityKind::Service => Service::UNIQUES,
            EntityKind::ServicePricingTier => ServicePricingTier::UNIQUES,
            EntityKind::ServicePackage => ServicePackage::UNIQUES,
            EntityKind::PackageService => PackageService::UNIQUES,
            EntityKind::ApiToken => ApiToken::UNIQUES,
            EntityKind::PreferenceHistory => PreferenceHistory::UNIQUES,
            EntityKind::Consent => ConsentRecord::UNIQUES,
            EntityKind::Webhook => Webhook::UNIQUES,
            EntityKind::WebhookDelivery => WebhookDelivery::UNIQUES,
        }
    }

    /// The kind whose SQL table is `table`.
    pub fn of_table(table: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.table() == table)
    }

    /// The references this entity holds.
    pub fn references(self) -> impl Iterator<Item = &'static Reference> {
        REFERENCES.iter().filter(move |r| r.from == self)
    }

    /// The references that point at this entity.
    pub fn referrers(self) -> impl Iterator<Item = &'static Reference> {
        REFERENCES.iter().filter(move |r| r.to == self)
    }
}
