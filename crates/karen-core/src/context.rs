//! Reply context (decisions.md item 28): everything an agent needs to answer a message, in one
//! document. [`crate::Karen::reply_context`] builds it, reading its parts concurrently.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::MatchedService;
use crate::enums::Medium;
use crate::model::{Conversation, Customer};
use crate::preferences::plan::ContactPlan;
use crate::preferences::resolve::EffectivePreference;
use crate::query::MediumStats;

/// The newest messages included by default.
pub const DEFAULT_HISTORY: u32 = 10;
/// The most messages `history` may ask for.
pub const MAX_HISTORY: u32 = 50;
/// The most services matched to a message.
pub const MAX_MATCHED_SERVICES: usize = 5;
/// The days of analytics included.
pub const ANALYTICS_DAYS: u32 = 90;
/// The most distinct words of a message used to match services.
pub const MAX_MESSAGE_TERMS: usize = 64;

/// Whether karen may contact the customer on a channel, and why: the consent ledger
/// (decisions.md item 24), then the customer's avoided channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelConsent {
    /// The channel.
    pub channel: Medium,
    /// Whether outbound messages may use it.
    pub allowed: bool,
    /// Why, in words.
    pub reason: String,
    /// The ledger row that set the channel's consent (none: never changed).
    pub record: Option<crate::model::ConsentRecord>,
}

/// What an agent needs to answer a message, in one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyContext {
    /// The customer.
    pub customer: Customer,
    /// The message being answered, when one was named.
    pub message: Option<Conversation>,
    /// The winning value of each preference for the message's medium (general ones when no
    /// message was named or its medium has no preferences of its own).
    pub preferences: Vec<EffectivePreference>,
    /// Per channel (sms, email, voice), whether it may be used, with the consent row.
    pub consent: Vec<ChannelConsent>,
    /// How to reach the customer now.
    pub contact_plan: ContactPlan,
    /// The message's thread, oldest first (the customer's messages only); empty without a message.
    pub thread: Vec<Conversation>,
    /// The customer's newest messages on every channel, newest first.
    pub history: Vec<Conversation>,
    /// The newest message on each medium the customer has used, by medium.
    pub latest_by_medium: Vec<Conversation>,
    /// Communication analytics per medium over the last 90 days.
    pub analytics: Vec<MediumStats>,
    /// Services matching the message (its keywords and topics, else its words), with quotes.
    pub services: Vec<MatchedService>,
}

/// Words too common to say what a message is about; never used to match services.
const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "any", "are", "as", "at", "be", "but", "by", "can", "could", "do", "for", "from", "get",
    "had", "has", "have", "hello", "hi", "how", "i", "if", "in", "is", "it", "its", "me", "my", "need", "no", "not",
    "of", "on", "or", "our", "please", "so", "thanks", "that", "the", "there", "this", "to", "up", "us", "was", "we",
    "what", "when", "will", "with", "would", "you", "your",
];

/// The words that match services to `message`: its NLP keywords and topics, else the words
/// of its subject and content; stop words left out, at most [`MAX_MESSAGE_TERMS`].
pub fn message_terms(message: &Conversation) -> Vec<String> {
    let tagged: Vec<&str> = message.keywords.iter().chain(&message.topics).map(String::as_str).collect();
    let texts: Vec<&str> = if tagged.is_empty() {
        message.subject.iter().map(String::as_str).chain(std::iter::once(message.content.as_str())).collect()
    } else {
        tagged
    };
    let mut terms: Vec<String> = Vec::new();
    for word in texts.iter().flat_map(|t| crate::query::words(t)) {
        if terms.len() == MAX_MESSAGE_TERMS {
            break;
        }
        if !STOP_WORDS.contains(&word.as_str()) && !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms
}

/// Which customer's context, around which message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextRequest {
    /// The customer.
    pub customer_id: Uuid,
    /// The message being answered (it must be the customer's).
    pub conversation_id: Option<Uuid>,
    /// How many of the newest messages to include, 1 to 50.
    pub history: u32,
}
