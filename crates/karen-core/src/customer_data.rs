//! A customer's own data (issue 19): everything karen holds about one customer, in one
//! document, for the customer who asks for it.

use serde::{Deserialize, Serialize};

use crate::model::{
    ConsentRecord, Conversation, ConversationAttachment, Customer, CustomerPreference, PreferenceHistory,
};

/// An attachment's metadata with where its row can be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentEntry {
    /// The row.
    pub attachment: ConversationAttachment,
    /// The API path of the row (`/v1/attachments/{id}`).
    pub link: String,
    /// The API path of its bytes (`/v1/attachments/{id}/content`), when karen holds them.
    pub content: Option<String>,
}

/// Everything held about one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerData {
    /// When the document was made, by karen's clock.
    pub exported_at: chrono::DateTime<chrono::Utc>,
    /// The customer row.
    pub customer: Customer,
    /// Every preference row, active or not, in id order.
    pub preferences: Vec<CustomerPreference>,
    /// Earlier versions and contradicted evidence of the preferences, in id order.
    pub preference_history: Vec<PreferenceHistory>,
    /// The consent ledger, oldest first.
    pub consent: Vec<ConsentRecord>,
    /// Every message in and out, in id order.
    pub conversations: Vec<Conversation>,
    /// The metadata of every attachment of those messages.
    pub attachments: Vec<AttachmentEntry>,
}

/// What erasing a customer removed (decision 17): rows per table, and attachment bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErasureReport {
    /// The customer erased.
    pub customer_id: uuid::Uuid,
    /// Rows removed per table (the customer's own row under `customers`).
    pub rows: std::collections::BTreeMap<String, u64>,
    /// Attachment blobs removed (bytes another customer's attachment also names stay).
    pub blobs_removed: u64,
}
