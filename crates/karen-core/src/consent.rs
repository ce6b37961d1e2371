//! Consent (decisions.md item 24): the SMS keywords and the current status per channel, read
//! from the ledger ([`crate::model::ConsentRecord`]). [`crate::Karen`] applies them when it
//! records a message (karen/consent.rs).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::{ConsentCause, ConsentChannel, ConsentStatus};
use crate::model::ConsentRecord;

/// Keywords that opt out of SMS when they are a message's whole body.
pub const OPT_OUT_KEYWORDS: &[&str] = &["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE"];
/// Keywords that opt back in.
pub const OPT_IN_KEYWORDS: &[&str] = &["START", "YES", "UNSTOP"];

/// The consent change an inbound SMS's body makes: the whole body, trimmed of white space and
/// punctuation around it and case-folded, is a keyword ('Stop.', ' stop ' are STOP; 'please
/// stop' is not). HELP and everything else change nothing.
pub fn keyword(body: &str) -> Option<(ConsentStatus, &'static str)> {
    let word = body.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation()).to_uppercase();
    if let Some(k) = OPT_OUT_KEYWORDS.iter().find(|k| **k == word) {
        return Some((ConsentStatus::OptedOut, k));
    }
    OPT_IN_KEYWORDS.iter().find(|k| **k == word).map(|k| (ConsentStatus::OptedIn, *k))
}

/// The consent of one channel now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelState {
    /// The channel.
    pub channel: ConsentChannel,
    /// Its status: the latest row's, opted_in when there is none (a customer who wrote to the
    /// business may be answered until they opt out).
    pub status: ConsentStatus,
    /// The row that set it (none: never changed).
    pub record: Option<ConsentRecord>,
}

impl ChannelState {
    /// Whether outbound messages may use the channel.
    pub fn allowed(&self) -> bool {
        self.status == ConsentStatus::OptedIn
    }

    /// Why the channel is closed, in words naming the row (for errors and the contact plan).
    pub fn refusal(&self) -> Option<String> {
        let r = self.record.as_ref().filter(|_| !self.allowed())?;
        let how = match (&r.cause, &r.keyword) {
            (ConsentCause::Keyword, Some(k)) => format!("by texting {k}"),
            (cause, _) => format!("({cause})"),
        };
        Some(format!(
            "the customer opted out of {} {how} at {} (consent {})",
            self.channel,
            r.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            r.id
        ))
    }
}

/// The current consent of a customer on every channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentState {
    /// The customer.
    pub customer_id: Uuid,
    /// sms, email and voice, in that order.
    pub channels: Vec<ChannelState>,
}

impl ConsentState {
    /// The state of `channel`.
    pub fn channel(&self, channel: ConsentChannel) -> &ChannelState {
        self.channels.iter().find(|c| c.channel == channel).expect("every channel has a state")
    }
}

/// The current state from a customer's ledger rows (any order): per channel the latest row by
/// id (UUIDv7, so the order they were recorded in).
pub fn current(customer_id: Uuid, rows: &[ConsentRecord]) -> ConsentState {
    let channels = ConsentChannel::ALL
        .iter()
        .map(|&channel| {
            let latest = rows.iter().filter(|r| r.channel == channel).max_by_key(|r| r.id).cloned();
            ChannelState {
                channel,
                status: latest.as_ref().map_or(ConsentStatus::OptedIn, |r| r.status),
                record: latest,
            }
        })
        .collect();
    ConsentState { customer_id, channels }
}

/// An explicit change of consent, through the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentChange {
    /// sms, email or voice.
    pub channel: ConsentChannel,
    /// opted_in or opted_out.
    pub status: ConsentStatus,
    /// request (the customer asked, by any means; the default) or unsubscribe.
    #[serde(default)]
    pub cause: Option<ConsentCause>,
    /// The customer's message that asked for it (their own).
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
    /// Why, in words.
    #[serde(default)]
    pub note: Option<String>,
    /// Who records it (default `api`).
    #[serde(default)]
    pub recorded_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_the_whole_body_in_any_case_and_punctuation() {
        for body in ["STOP", "Stop.", "stop ", "  stop!! ", "StopAll", "unsubscribe", "Cancel", "end", "quit", "revoke"]
        {
            assert_eq!(keyword(body).map(|k| k.0), Some(ConsentStatus::OptedOut), "{body:?}");
        }
        for body in ["START", "yes", "Unstop."] {
            assert_eq!(keyword(body).map(|k| k.0), Some(ConsentStatus::OptedIn), "{body:?}");
        }
        for body in ["HELP", "please stop texting me", "stop by tuesday?", "", "STOP STOP", "yes please", "st op"] {
            assert_eq!(keyword(body), None, "{body:?}");
        }
        assert_eq!(keyword("stop.").map(|k| k.1), Some("STOP"));
    }

    #[test]
    fn the_latest_row_of_a_channel_is_its_status() {
        let c = Uuid::now_v7();
        let row = |channel, status| ConsentRecord {
            id: Uuid::now_v7(),
            customer_id: c,
            channel,
            status,
            ..Default::default()
        };
        let rows = vec![
            row(ConsentChannel::Sms, ConsentStatus::OptedOut),
            row(ConsentChannel::Email, ConsentStatus::OptedOut),
            row(ConsentChannel::Sms, ConsentStatus::OptedIn),
        ];
        let state = current(c, &rows);
        assert!(state.channel(ConsentChannel::Sms).allowed());
        assert!(!state.channel(ConsentChannel::Email).allowed());
        assert!(
            state.channel(ConsentChannel::Voice).allowed() && state.channel(ConsentChannel::Voice).record.is_none()
        );
        assert!(state.channel(ConsentChannel::Email).refusal().unwrap().contains(&rows[1].id.to_string()));
    }
}
