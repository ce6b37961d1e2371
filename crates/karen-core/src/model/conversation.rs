//! `conversations` (schema-design.md sections 2.1 and 2.3, decisions.md items 3 to 5).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::entity::{Entity, EntityKind, Unique};
use crate::enums::{
    ConversationStatus, Direction, Medium, MessagePriority, ProcessingStage, ResponseMethod, Sentiment,
};
use crate::error::StoreResult;
use crate::validate as v;

crate::entity_struct! {
    /// One message in or out, on any medium, with its processing state and NLP results.
    pub struct Conversation {
        /// Primary key.
        pub id: Uuid = Uuid,
        /// The customer it belongs to.
        pub customer_id: Uuid = Uuid,
        /// Groups related messages.
        pub conversation_thread_id: Option<String> = Text,
        /// The message id in the external system; unique per medium (decisions.md item 5).
        pub external_id: Option<String> = Text,
        /// Email, SMS, voice, chat or webhook.
        pub medium: Medium = Text,
        /// Inbound or outbound.
        pub direction: Direction = Text,
        /// Subject (at most 500 characters).
        pub subject: Option<String> = Text,
        /// The message text.
        pub content: String = Text,
        /// MIME type of `content`.
        pub content_type: String = Text,
        /// The original message data.
        pub raw_content: Option<serde_json::Value> = Json,
        /// Sender address.
        pub from_address: Option<String> = Text,
        /// Recipient address.
        pub to_address: Option<String> = Text,
        /// CC addresses.
        pub cc_addresses: Vec<String> = TextArray,
        /// BCC addresses.
        pub bcc_addresses: Vec<String> = TextArray,
        /// Phone number, E.164.
        pub phone_number: Option<String> = Text,
        /// Processing status.
        pub status: ConversationStatus = Text,
        /// Processing stage.
        pub processing_stage: Option<ProcessingStage> = Text,
        /// Full NLP analysis (a JSON object).
        pub nlp_analysis: Option<serde_json::Value> = Json,
        /// Classified intent.
        pub intent: Option<String> = Text,
        /// Positive, neutral, negative or mixed.
        pub sentiment: Option<Sentiment> = Text,
        /// Low, normal, high or urgent.
        pub priority: Option<MessagePriority> = Text,
        /// NLP confidence, 0.00 to 1.00.
        pub confidence_score: Option<Decimal> = Decimal(2),
        /// Extracted entities.
        pub entities: Option<serde_json::Value> = Json,
        /// Extracted keywords.
        pub keywords: Vec<String> = TextArray,
        /// Extracted topics.
        pub topics: Vec<String> = TextArray,
        /// The outbound message that answered this one.
        pub response_id: Option<Uuid> = Uuid,
        /// Template used for the response.
        pub response_template_used: Option<String> = Text,
        /// When the response was generated.
        pub response_generated_at: Option<DateTime<Utc>> = Timestamp,
        /// Template, LLM or human.
        pub response_method: Option<ResponseMethod> = Text,
        /// When the message was sent.
        pub message_timestamp: DateTime<Utc> = Timestamp,
        /// When karen received it; now when not given.
        pub received_at: Option<DateTime<Utc>> = Timestamp,
        /// When processing finished.
        pub processed_at: Option<DateTime<Utc>> = Timestamp,
        /// Free metadata (a JSON object).
        pub metadata: Option<serde_json::Value> = Json,
        /// Which agent processed it.
        pub agent_id: Option<String> = Text,
        /// Groups conversations in a session.
        pub session_id: Option<String> = Text,
        /// Set by the store on create.
        pub created_at: DateTime<Utc> = Timestamp,
        /// Set by the store on every update.
        pub updated_at: DateTime<Utc> = Timestamp,
    }
}

impl Default for Conversation {
    fn default() -> Self {
        Conversation {
            id: Uuid::nil(),
            customer_id: Uuid::nil(),
            conversation_thread_id: None,
            external_id: None,
            medium: Medium::Email,
            direction: Direction::Inbound,
            subject: None,
            content: String::new(),
            content_type: "text/plain".to_string(),
            raw_content: None,
            from_address: None,
            to_address: None,
            cc_addresses: Vec::new(),
            bcc_addresses: Vec::new(),
            phone_number: None,
            status: ConversationStatus::Received,
            processing_stage: None,
            nlp_analysis: None,
            intent: None,
            sentiment: None,
            priority: None,
            confidence_score: None,
            entities: None,
            keywords: Vec::new(),
            topics: Vec::new(),
            response_id: None,
            response_template_used: None,
            response_generated_at: None,
            response_method: None,
            message_timestamp: DateTime::<Utc>::UNIX_EPOCH,
            received_at: None,
            processed_at: None,
            metadata: None,
            agent_id: None,
            session_id: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

impl Entity for Conversation {
    const KIND: EntityKind = EntityKind::Conversation;
    const IMMUTABLE: &'static [&'static str] = &["id", "customer_id", "created_at", "updated_at"];
    const FILTERS: &'static [&'static str] =
        &["customer_id", "medium", "direction", "status", "conversation_thread_id", "session_id", "intent"];
    const SAME_CUSTOMER: &'static [&'static str] = &["response_id"];
    const UNIQUES: &'static [Unique] = &[Unique::new(
        "uq__conversations__external_id",
        &["medium", "external_id"],
        "(medium, external_id) must be unique",
    )];
    super::record_methods!();

    crate::field_rules!(
        conversation_thread_id: MaxLen(255),
        external_id: MaxLen(255),
        subject: MaxLen(500),
        content_type: Text(50),
        from_address: MaxLen(255),
        to_address: MaxLen(255),
        cc_addresses: Items(255),
        bcc_addresses: Items(255),
        phone_number: Phone,
        intent: MaxLen(100),
        confidence_score: Confidence,
        response_template_used: MaxLen(100),
        agent_id: MaxLen(50),
        session_id: MaxLen(255),
        nlp_analysis: Object,
        metadata: Object,
    );

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()?;
        if self.response_id == Some(self.id) && !self.id.is_nil() {
            return Err(crate::StoreError::invalid("response_id", "a message cannot be its own response"));
        }
        self.message_timestamp = v::to_micros(self.message_timestamp);
        v::opt_micros(&mut self.response_generated_at);
        v::opt_micros(&mut self.received_at);
        v::opt_micros(&mut self.processed_at);
        Ok(())
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating {
            self.created_at = now;
            self.received_at.get_or_insert(now);
        }
        self.updated_at = now;
    }
}
