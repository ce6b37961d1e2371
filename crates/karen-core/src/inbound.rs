//! Inbound messages (decisions.md items 20 and 21): what a raw e-mail or a Twilio webhook says,
//! once read from its wire form (the `karen-inbound` crate), and the rules that make it a
//! conversation of the right customer in the right thread: direction and counterpart from the
//! business's own addresses and numbers, the customer match, the thread. [`crate::Karen`]
//! applies them (karen/inbound.rs); everything here is pure.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::{Direction, Medium};
use crate::error::{StoreError, StoreResult};
use crate::model::{Conversation, Customer};
use crate::validate;

/// One address of a message: an e-mail address or an E.164 number, with the display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// The address (e-mail) or number (E.164).
    pub address: String,
    /// The display name, when the message gives one.
    pub name: Option<String>,
}

/// An attachment as it arrived: its bytes (an e-mail part) or, for MMS media and recordings that
/// karen does not fetch yet, where they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundAttachment {
    /// File name (the part's, or one made from its type).
    pub file_name: String,
    /// MIME type.
    pub content_type: Option<String>,
    /// The bytes, when the message carried them.
    pub bytes: Option<Vec<u8>>,
    /// Where the bytes are, when the message only points at them (Twilio media URLs).
    pub url: Option<String>,
    /// Content-ID of an inline part.
    pub content_id: Option<String>,
    /// Shown inline in the body.
    pub is_inline: bool,
}

/// A message read from its wire form, before matching and threading.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// email, sms or voice.
    pub medium: Medium,
    /// The id that recognises a redelivery: the Message-ID (else `sha256:` of the bytes), the
    /// MessageSid or CallSid.
    pub external_id: String,
    /// Subject (e-mail).
    pub subject: Option<String>,
    /// The text: the text/plain part, else text from the HTML part; the SMS body; the
    /// transcription.
    pub content: String,
    /// MIME type of `content`'s source part.
    pub content_type: String,
    /// Sender.
    pub from: Option<Party>,
    /// Recipients.
    pub to: Vec<Party>,
    /// Copied recipients.
    pub cc: Vec<Party>,
    /// Blind-copied recipients.
    pub bcc: Vec<Party>,
    /// When it was sent (the Date header), if known.
    pub sent_at: Option<DateTime<Utc>>,
    /// Message-IDs it answers, nearest first (In-Reply-To, then References from the end).
    pub references: Vec<String>,
    /// The original data (headers and MIME structure, or the webhook's parameters).
    pub raw_content: serde_json::Value,
    /// Its attachments.
    pub attachments: Vec<InboundAttachment>,
}

/// The business's own e-mail addresses and phone numbers: a message from one of them is
/// outbound, and its counterpart is a recipient outside them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessIdentity {
    addresses: Vec<String>,
    numbers: Vec<String>,
}

impl BusinessIdentity {
    /// The identity of these addresses and numbers, each checked and normalised (addresses
    /// compared lower-cased, numbers in E.164).
    pub fn new<A: AsRef<str>, N: AsRef<str>>(addresses: &[A], numbers: &[N]) -> StoreResult<Self> {
        let mut out = BusinessIdentity::default();
        for a in addresses {
            let mut a = a.as_ref().to_string();
            validate::email("business_address", &mut a)?;
            out.addresses.push(a.to_lowercase());
        }
        for n in numbers {
            out.numbers.push(validate::phone("business_number", n.as_ref())?);
        }
        Ok(out)
    }

    /// Whether `address` (an e-mail address or a number) is the business's own.
    pub fn is_own(&self, address: &str) -> bool {
        self.addresses.iter().any(|a| a.eq_ignore_ascii_case(address)) || self.numbers.iter().any(|n| n == address)
    }

    /// The business's addresses, lower-cased.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// The business's numbers, E.164.
    pub fn numbers(&self) -> &[String] {
        &self.numbers
    }
}

/// The rules an inbound message is recorded by: who the business is, and how long an SMS or
/// call thread stays open.
#[derive(Debug, Clone)]
pub struct InboundRules {
    /// The business's own addresses and numbers.
    pub identity: BusinessIdentity,
    /// An SMS or call joins the customer's latest thread with that number when its last
    /// message is younger than this (decision 21: 24 hours).
    pub phone_thread_gap: Duration,
}

impl Default for InboundRules {
    fn default() -> Self {
        InboundRules { identity: BusinessIdentity::default(), phone_thread_gap: Duration::hours(24) }
    }
}

/// The direction of a message and the party on the customer's side: outbound when the sender
/// is the business's own, the counterpart then the first recipient (To, Cc, Bcc) that is not;
/// inbound otherwise, the counterpart the sender.
pub fn direction_and_counterpart(msg: &InboundMessage, identity: &BusinessIdentity) -> StoreResult<(Direction, Party)> {
    let from = msg.from.clone().ok_or_else(|| StoreError::invalid("from", "the message names no sender"))?;
    if !identity.is_own(&from.address) {
        return Ok((Direction::Inbound, from));
    }
    msg.to
        .iter()
        .chain(&msg.cc)
        .chain(&msg.bcc)
        .find(|p| !identity.is_own(&p.address))
        .cloned()
        .map(|p| (Direction::Outbound, p))
        .ok_or_else(|| {
            StoreError::invalid("to", "a message from the business must name a recipient outside the business")
        })
}

/// Which of the customers found for a counterpart gets the message: an e-mail match on the
/// primary address before one on a secondary; then the one contacted most recently (never
/// contacted last), then the lowest id. The others are returned as candidates.
pub fn pick_customer(mut found: Vec<Customer>, address: &str) -> Option<(Customer, Vec<Uuid>)> {
    let primary = |c: &Customer| {
        c.primary_email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(address))
            || c.primary_phone.as_deref() == Some(address)
    };
    found.sort_by(|a, b| {
        primary(b).cmp(&primary(a)).then(b.last_contact_at.cmp(&a.last_contact_at)).then(a.id.cmp(&b.id))
    });
    let mut it = found.into_iter();
    let first = it.next()?;
    Some((first, it.map(|c| c.id).collect()))
}

/// A new customer for a counterpart no customer has: the address (or number), the display name
/// split into first name and the rest, and where they came from.
pub fn new_customer(medium: Medium, counterpart: &Party) -> Customer {
    let (first, last) = match counterpart.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => match name.split_once(char::is_whitespace) {
            Some((f, l)) => (Some(cut(f, 100)), Some(cut(l.trim(), 100))),
            None => (Some(cut(name, 100)), None),
        },
        None => (None, None),
    };
    let mut c = Customer { first_name: first, last_name: last, ..Default::default() };
    match medium {
        Medium::Email => {
            c.primary_email = Some(counterpart.address.clone());
            c.referral_source = Some("inbound_email".into());
        }
        Medium::Voice => {
            c.primary_phone = Some(counterpart.address.clone());
            c.referral_source = Some("inbound_voice".into());
        }
        _ => {
            c.primary_phone = Some(counterpart.address.clone());
            c.referral_source = Some("inbound_sms".into());
        }
    }
    c
}

/// At most `n` characters of `s`.
fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The thread of an SMS or call: the customer's newest message on the medium, if it was with the
/// same number less than `gap` before `at`; else none (a new thread).
pub fn phone_thread(latest: Option<&Conversation>, number: &str, at: DateTime<Utc>, gap: Duration) -> Option<String> {
    let m = latest?;
    (m.phone_number.as_deref() == Some(number) && m.message_timestamp > at - gap)
        .then(|| m.conversation_thread_id.clone().unwrap_or_else(|| m.id.to_string()))
}

/// The thread an e-mail answering `referenced` (a stored message it names) joins: that
/// message's, when it is the same customer's; else none.
pub fn email_thread(referenced: &Conversation, customer_id: Uuid) -> Option<String> {
    (referenced.customer_id == customer_id)
        .then(|| referenced.conversation_thread_id.clone().unwrap_or_else(|| referenced.id.to_string()))
}

/// What recording an inbound message did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Received {
    /// The stored message (the earlier one, for a redelivery).
    pub conversation: Conversation,
    /// Its customer.
    pub customer_id: Uuid,
    /// Whether the customer was created for it.
    pub customer_created: bool,
    /// Its thread.
    pub thread_id: Option<String>,
    /// Whether it was stored now (false: a redelivery, nothing written).
    pub created: bool,
    /// The ids of its attachments' rows.
    pub attachment_ids: Vec<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(a: &str) -> Party {
        Party { address: a.into(), name: None }
    }

    fn msg(from: &str, to: &[&str]) -> InboundMessage {
        InboundMessage {
            medium: Medium::Email,
            external_id: "x@y".into(),
            subject: None,
            content: String::new(),
            content_type: "text/plain".into(),
            from: Some(party(from)),
            to: to.iter().map(|t| party(t)).collect(),
            cc: vec![],
            bcc: vec![],
            sent_at: None,
            references: vec![],
            raw_content: serde_json::Value::Null,
            attachments: vec![],
        }
    }

    #[test]
    fn direction_follows_the_business_identity() {
        let id = BusinessIdentity::new(&["Office@757handy.com"], &["757-555-0100"]).unwrap();
        let (d, p) = direction_and_counterpart(&msg("dana@example.com", &["office@757handy.com"]), &id).unwrap();
        assert_eq!((d, p.address.as_str()), (Direction::Inbound, "dana@example.com"));
        let (d, p) =
            direction_and_counterpart(&msg("OFFICE@757handy.com", &["office@757handy.com", "dana@example.com"]), &id)
                .unwrap();
        assert_eq!((d, p.address.as_str()), (Direction::Outbound, "dana@example.com"));
        let err = direction_and_counterpart(&msg("office@757handy.com", &["office@757handy.com"]), &id).unwrap_err();
        assert_eq!(err.field(), Some("to"));
        assert!(id.is_own("+17575550100"));
        assert_eq!(
            BusinessIdentity::new(&["not an address"], &[] as &[&str]).unwrap_err().field(),
            Some("business_address")
        );
    }

    #[test]
    fn the_primary_match_then_the_latest_contact_wins() {
        let now = Utc::now();
        let c = |email: Option<&str>, secondary: Option<&str>, last: Option<DateTime<Utc>>| Customer {
            id: Uuid::now_v7(),
            primary_email: email.map(Into::into),
            secondary_email: secondary.map(Into::into),
            last_contact_at: last,
            ..Default::default()
        };
        let old = c(None, Some("d@example.com"), Some(now - Duration::days(3)));
        let recent = c(None, Some("D@example.com"), Some(now));
        let never = c(None, Some("d@example.com"), None);
        let (won, others) = pick_customer(vec![never.clone(), old.clone(), recent.clone()], "d@example.com").unwrap();
        assert_eq!((won.id, others), (recent.id, vec![old.id, never.id]));
        let primary = c(Some("d@example.com"), None, None);
        assert_eq!(pick_customer(vec![recent, primary.clone()], "d@example.com").unwrap().0.id, primary.id);
    }

    #[test]
    fn new_customers_take_the_display_name() {
        let c = new_customer(
            Medium::Email,
            &Party { address: "d@example.com".into(), name: Some(" Dana  Reyes Smith ".into()) },
        );
        assert_eq!((c.first_name.as_deref(), c.last_name.as_deref()), (Some("Dana"), Some("Reyes Smith")));
        assert_eq!(c.referral_source.as_deref(), Some("inbound_email"));
        let c = new_customer(Medium::Sms, &party("+17575550142"));
        assert_eq!(
            (c.primary_phone.as_deref(), c.referral_source.as_deref()),
            (Some("+17575550142"), Some("inbound_sms"))
        );
    }
}
