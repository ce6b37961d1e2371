//! Every value set the design lists in a comment, as a Rust enum (decisions.md item 3).
//! Each is stored as its snake_case text and checked again by the database.

use serde::{Deserialize, Serialize};

/// Defines a string-valued enum with `as_str`, `FromStr`, `Display`, `ALL` and serde as text.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[doc = concat!("`", $text, "`")] #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every allowed value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored text of this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The JSON Schema of this value set.
            pub fn schema_json() -> serde_json::Value {
                serde_json::json!({"type": "string", "enum": [$($text),+]})
            }

            /// The allowed values, joined for error messages.
            pub fn allowed() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::error::StoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::error::StoreError::invalid(
                        stringify!($name),
                        format!("must be one of: {}", Self::allowed()),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "string", "enum": [$($text),+]})
            }
        }
    };
}

string_enum!(
    /// What happened to which kind of row: the `type` of a change event (decisions.md item 27).
    EventType {
        CustomerCreated = "customer.created",
        CustomerUpdated = "customer.updated",
        CustomerDeleted = "customer.deleted",
        PreferenceCreated = "preference.created",
        PreferenceUpdated = "preference.updated",
        PreferenceDeleted = "preference.deleted",
        ConsentCreated = "consent.created",
        ConsentUpdated = "consent.updated",
        ConsentDeleted = "consent.deleted",
        ConversationCreated = "conversation.created",
        ConversationUpdated = "conversation.updated",
        ConversationDeleted = "conversation.deleted",
        AttachmentCreated = "attachment.created",
        AttachmentUpdated = "attachment.updated",
        AttachmentDeleted = "attachment.deleted",
    }
);
string_enum!(
    /// `webhook_subscriptions.status`: a disabled subscription receives nothing until it is
    /// set active again.
    WebhookStatus { Active = "active", Disabled = "disabled" }
);
string_enum!(
    /// `webhook_deliveries.outcome`: what one attempt to deliver an event came to.
    DeliveryOutcome { Delivered = "delivered", Failed = "failed" }
);
string_enum!(
    /// `customers.customer_type`.
    CustomerType { Individual = "individual", Business = "business" }
);
string_enum!(
    /// `customers.status`.
    CustomerStatus { Active = "active", Inactive = "inactive", Blocked = "blocked" }
);
string_enum!(
    /// `customers.customer_tier`.
    CustomerTier { Standard = "standard", Premium = "premium", Vip = "vip" }
);
string_enum!(
    /// `customer_preferences.source`, strongest first (decisions.md item 9).
    PreferenceSource { Explicit = "explicit", Learned = "learned", Inferred = "inferred", Default = "default" }
);
string_enum!(
    /// `customer_preferences.medium` (decisions.md item 2).
    PreferenceMedium { Email = "email", Sms = "sms", Voice = "voice", General = "general" }
);
string_enum!(
    /// `conversations.medium`.
    Medium { Email = "email", Sms = "sms", Voice = "voice", Chat = "chat", Webhook = "webhook" }
);
string_enum!(
    /// `customer_consents.channel`: the channels consent is kept for (decisions.md item 24).
    ConsentChannel { Sms = "sms", Email = "email", Voice = "voice" }
);
string_enum!(
    /// `customer_consents.status`.
    ConsentStatus { OptedIn = "opted_in", OptedOut = "opted_out" }
);
string_enum!(
    /// `customer_consents.cause`: a keyword in an inbound SMS, a request through the API (on
    /// the customer's behalf), an unsubscribe (a link or list header), or a merge (the more
    /// restrictive status of two merged customers, decisions.md item 25).
    ConsentCause { Keyword = "keyword", Request = "request", Unsubscribe = "unsubscribe", Merge = "merge" }
);
string_enum!(
    /// `conversations.direction`.
    Direction { Inbound = "inbound", Outbound = "outbound" }
);
string_enum!(
    /// `conversations.status`.
    ConversationStatus {
        Received = "received",
        Processing = "processing",
        Processed = "processed",
        Replied = "replied",
        Failed = "failed",
    }
);
string_enum!(
    /// `conversations.processing_stage`.
    ProcessingStage {
        NlpAnalysis = "nlp_analysis",
        IntentClassification = "intent_classification",
        ResponseGeneration = "response_generation",
        Completed = "completed",
    }
);
string_enum!(
    /// `conversations.response_method`.
    ResponseMethod { Template = "template", Llm = "llm", Human = "human" }
);
string_enum!(
    /// `conversations.sentiment`.
    Sentiment { Positive = "positive", Neutral = "neutral", Negative = "negative", Mixed = "mixed" }
);
string_enum!(
    /// `conversations.priority`.
    MessagePriority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);
string_enum!(
    /// `conversation_attachments.virus_scan_status`.
    VirusScanStatus { Pending = "pending", Clean = "clean", Infected = "infected", Error = "error", Skipped = "skipped" }
);
string_enum!(
    /// `services.pricing_model`.
    PricingModel { Fixed = "fixed", Hourly = "hourly", Estimate = "estimate", Tiered = "tiered" }
);
string_enum!(
    /// `service_pricing_tiers.unit`.
    TierUnit { Each = "each", Hour = "hour", Sqft = "sqft", LinearFt = "linear_ft" }
);
string_enum!(
    /// `service_packages.package_type`.
    PackageType { Bundle = "bundle", Maintenance = "maintenance", Seasonal = "seasonal" }
);
string_enum!(
    /// Why a version of a preference went to `customer_preference_history` (decisions.md item 18).
    HistoryReason {
        Superseded = "superseded",
        Contradicted = "contradicted",
        Deactivated = "deactivated",
        Expired = "expired",
        Deleted = "deleted",
        Merged = "merged",
    }
);
string_enum!(
    /// `customer_preferences.preference_type`: the six types of section 1.2 and `custom`.
    PreferenceType {
        CommunicationMethod = "communication_method",
        Scheduling = "scheduling",
        Service = "service",
        CommunicationStyle = "communication_style",
        Emergency = "emergency",
        Billing = "billing",
        Custom = "custom",
    }
);

impl PreferenceSource {
    /// Strength for the resolution rule: higher wins (explicit 4 .. default 1).
    pub fn rank(self) -> u8 {
        match self {
            PreferenceSource::Explicit => 4,
            PreferenceSource::Learned => 3,
            PreferenceSource::Inferred => 2,
            PreferenceSource::Default => 1,
        }
    }
}

impl ConsentChannel {
    /// The channel of messages of `medium`, if consent is kept for it.
    pub fn of(medium: Medium) -> Option<ConsentChannel> {
        match medium {
            Medium::Email => Some(ConsentChannel::Email),
            Medium::Sms => Some(ConsentChannel::Sms),
            Medium::Voice => Some(ConsentChannel::Voice),
            Medium::Chat | Medium::Webhook => None,
        }
    }

    /// The medium of messages on this channel.
    pub fn medium(self) -> Medium {
        match self {
            ConsentChannel::Email => Medium::Email,
            ConsentChannel::Sms => Medium::Sms,
            ConsentChannel::Voice => Medium::Voice,
        }
    }
}

impl Medium {
    /// The preference medium that corresponds to a message medium, if any.
    pub fn preference_medium(self) -> Option<PreferenceMedium> {
        match self {
            Medium::Email => Some(PreferenceMedium::Email),
            Medium::Sms => Some(PreferenceMedium::Sms),
            Medium::Voice => Some(PreferenceMedium::Voice),
            Medium::Chat | Medium::Webhook => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_value_and_rejects_others() {
        for m in Medium::ALL {
            assert_eq!(m.as_str().parse::<Medium>().unwrap(), *m);
            assert_eq!(serde_json::to_string(m).unwrap(), format!("\"{}\"", m.as_str()));
        }
        let err = "fax".parse::<Medium>().unwrap_err();
        assert!(err.to_string().contains("email, sms, voice, chat, webhook"), "{err}");
        assert!(serde_json::from_str::<Direction>("\"sideways\"").is_err());
    }

    #[test]
    fn source_rank_orders_explicit_first() {
        let mut all = PreferenceSource::ALL.to_vec();
        all.sort_by_key(|s| std::cmp::Reverse(s.rank()));
        assert_eq!(all, PreferenceSource::ALL);
    }
}

/// Stores every enum as its text.
macro_rules! enum_field_value {
    ($($name:ident),+) => {$(
        impl crate::value::FieldValue for $name {
            fn schema() -> serde_json::Value {
                Self::schema_json()
            }
            fn to_value(&self) -> crate::value::Value {
                crate::value::Value::Text(self.as_str().to_string())
            }
            fn from_value(name: &str, value: crate::value::Value) -> crate::error::StoreResult<Self> {
                match value {
                    crate::value::Value::Text(s) => s.parse().map_err(|_| {
                        crate::error::StoreError::invalid(name, format!("stored value {s:?} is not one of: {}", Self::allowed()))
                    }),
                    crate::value::Value::Null => Err(crate::error::StoreError::invalid(name, "stored value is null")),
                    _ => Err(crate::error::StoreError::invalid(name, "stored value is not text")),
                }
            }
        }
    )+};
}
enum_field_value!(
    EventType,
    WebhookStatus,
    DeliveryOutcome,
    ConsentChannel,
    ConsentStatus,
    ConsentCause,
    CustomerType,
    CustomerStatus,
    CustomerTier,
    PreferenceSource,
    PreferenceMedium,
    Medium,
    Direction,
    ConversationStatus,
    ProcessingStage,
    ResponseMethod,
    Sentiment,
    MessagePriority,
    VirusScanStatus,
    PricingModel,
    TierUnit,
    PackageType,
    PreferenceType,
    HistoryReason
);
