//! The arguments of each tool, as Rust types: their JSON Schemas are what `tools/list` shows,
//! and calls are read into them, so the two cannot disagree. Doc comments become the schema's
//! descriptions, written for the LLM that fills them in.

use chrono::{DateTime, Utc};
use karen_core::enums::{ConversationStatus, Direction, Medium, MessagePriority, Sentiment};
use karen_core::preferences::plan::Urgency;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

/// Give exactly one of `email`, `phone` or `external_id`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindCustomer {
    /// The customer's primary e-mail address (compared case-insensitively).
    #[serde(default)]
    pub email: Option<String>,
    /// A phone number in any common form, e.g. "(757) 555-0100" or "+17575550100"; matches the
    /// primary and secondary phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// The customer's id in the business's other systems (CRM, booking tool).
    #[serde(default)]
    pub external_id: Option<String>,
}

/// Either `customer_id` (with an optional `conversation_id`), or `medium` with `external_id`
/// for the message just received.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetReplyContext {
    /// The customer (a UUID).
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// The message being answered, one of the customer's (a UUID).
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
    /// The medium of the message just received (with `external_id`).
    #[serde(default)]
    pub medium: Option<Medium>,
    /// The id the source system gave the message just received (e-mail Message-ID, Twilio SID).
    #[serde(default)]
    pub external_id: Option<String>,
    /// How many of the newest messages to include, 1 to 50 (default 10).
    #[serde(default)]
    pub history: Option<u32>,
}

/// A customer's messages, newest first.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetHistory {
    /// The customer (a UUID).
    pub customer_id: Uuid,
    /// Only messages of this medium.
    #[serde(default)]
    pub medium: Option<Medium>,
    /// How many messages, 1 to 500 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous answer, for older messages.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Words to look for in what was said.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchMessages {
    /// What to find: words (any form of a word finds the others: 'leaking' finds 'leaks'),
    /// "a phrase" in double quotes, -word to exclude, OR between alternatives.
    pub query: String,
    /// Only this customer's messages (a UUID); required on the Firestore backend.
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// Only messages of this medium.
    #[serde(default)]
    pub medium: Option<Medium>,
    /// How many messages, 1 to 500 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous answer, for the next matches.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Words to look for in the service catalog.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchServices {
    /// What the customer needs, in a few words, e.g. "leaky faucet" (at most 30 words).
    pub query: String,
    /// How many services, 1 to 500 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous answer.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// When and how urgently karen would contact the customer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetContactPlan {
    /// The customer (a UUID).
    pub customer_id: Uuid,
    /// The moment to plan for, RFC 3339 (default: now).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// `urgent` ignores the customer's time windows unless they refused after-hours contact.
    #[serde(default)]
    pub urgency: Option<Urgency>,
}

/// A message sent to or received from a customer. Recording the same (medium, external_id)
/// twice stores it once.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordMessage {
    /// The customer (a UUID).
    pub customer_id: Uuid,
    /// email, sms, voice, chat or webhook.
    pub medium: Medium,
    /// inbound (from the customer) or outbound (to them).
    pub direction: Direction,
    /// The text of the message.
    pub content: String,
    /// The subject (e-mail).
    #[serde(default)]
    pub subject: Option<String>,
    /// The id the source system gave it (e-mail Message-ID, Twilio SID); makes recording idempotent.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The thread it belongs to.
    #[serde(default)]
    pub conversation_thread_id: Option<String>,
    /// When it was sent, RFC 3339 (default: now).
    #[serde(default)]
    pub message_timestamp: Option<DateTime<Utc>>,
    /// The sender's address (e-mail).
    #[serde(default)]
    pub from_address: Option<String>,
    /// The recipient's address (e-mail).
    #[serde(default)]
    pub to_address: Option<String>,
    /// The phone number (sms, voice).
    #[serde(default)]
    pub phone_number: Option<String>,
    /// What the customer wants, in a few words.
    #[serde(default)]
    pub intent: Option<String>,
    /// positive, neutral, negative or mixed.
    #[serde(default)]
    pub sentiment: Option<Sentiment>,
    /// low, normal, high or urgent.
    #[serde(default)]
    pub priority: Option<MessagePriority>,
    /// Keywords of the message (used to match services).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Topics of the message.
    #[serde(default)]
    pub topics: Vec<String>,
    /// The message this one answers (a UUID of the same customer's message).
    #[serde(default)]
    pub response_id: Option<Uuid>,
    /// received, processing, processed, replied or failed (default received).
    #[serde(default)]
    pub status: Option<ConversationStatus>,
}
