//! The entities: the nine of the design and karen's own `api_tokens` and preference history,
//! one module each. Field names are the design's column names, which are also the Firestore
//! field names and the JSON names of the HTTP API.

mod api_token;
pub mod attachment;
pub(crate) mod category;
mod consent;
mod conversation;
mod customer;
mod history;
mod package;
mod preference;
mod service;
mod tier;
pub mod webhook;

pub use api_token::{ApiToken, Scope};
pub use attachment::ConversationAttachment;
pub use category::ServiceCategory;
pub use consent::ConsentRecord;
pub use conversation::Conversation;
pub use customer::Customer;
pub use history::PreferenceHistory;
pub use package::{PackageService, ServicePackage};
pub use preference::CustomerPreference;
pub use service::Service;
pub use tier::ServicePricingTier;
pub use webhook::{Webhook, WebhookDelivery};

/// The design's default for `created_by` / `updated_by`.
pub(crate) fn system() -> String {
    "system".to_string()
}

/// The design's default currency.
pub(crate) fn usd() -> String {
    "USD".to_string()
}

/// Implements the record part of [`crate::Entity`] by delegating to the code that
/// `entity_struct!` generated.
macro_rules! record_methods {
    () => {
        const FIELDS: &'static [crate::value::Field] = Self::FIELD_TABLE;
        fn id(&self) -> uuid::Uuid {
            self.id
        }
        fn set_id(&mut self, id: uuid::Uuid) {
            self.id = id;
        }
        fn json_schema() -> serde_json::Value {
            Self::json_schema_generated()
        }
        fn to_record(&self) -> crate::value::Record {
            self.to_record_generated()
        }
        fn from_record(record: crate::value::Record) -> crate::error::StoreResult<Self> {
            Self::from_record_generated(record)
        }
    };
}
pub(crate) use record_methods;
