//! The contact plan (issue 10, item 5): given a customer's effective general preferences and a
//! moment, which channel to use now, or the next allowed moment and channel. Local times are
//! computed in the customer's time zone with the IANA database (chrono-tz), so daylight-saving
//! changes move the answer as they should.
//!
//! Channels, in order: the preferred channel, the secondary one, then the rest in the order
//! email, sms, voice; avoided channels are removed. Time windows apply to every channel and
//! combine: business hours (Monday to Friday, 09:00 to 17:00 local) when `business_hours_only`,
//! `preferred_days`, not `avoided_days`, within `preferred_times`. An urgent message ignores the
//! windows unless `emergency.after_hours_contact` is false. Without a `timezone` preference the
//! business's zone, America/New_York, is used.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::resolve::EffectivePreference;
use crate::enums::{Medium, PreferenceType};
use crate::taxonomy::parse_hhmm;

/// The zone used when a customer has no timezone preference.
pub const DEFAULT_TIMEZONE: Tz = chrono_tz::America::New_York;
/// How far ahead the next allowed moment is looked for.
const HORIZON_DAYS: i64 = 14;

/// How urgent the outbound message is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Respect every window.
    #[default]
    Normal,
    /// Ignore windows unless the customer refused after-hours contact.
    Urgent,
}

/// The next allowed moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextContact {
    /// When, in UTC.
    pub at: DateTime<Utc>,
    /// The same moment in the customer's zone, RFC 3339 with offset.
    pub local: String,
    /// On which channel.
    pub channel: Medium,
}

/// The answer to "how do I reach this customer at this moment?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactPlan {
    /// The moment asked about.
    pub at: DateTime<Utc>,
    /// The customer's zone.
    pub timezone: String,
    /// The channels in order of preference, avoided ones removed.
    pub channels: Vec<Medium>,
    /// The channel to use now, if contact is allowed now.
    pub channel_now: Option<Medium>,
    /// Otherwise, the next allowed moment (none when no channel is allowed or nothing opens
    /// within 14 days).
    pub next: Option<NextContact>,
    /// Why, in words.
    pub reasons: Vec<String>,
}

struct Rules {
    tz: Tz,
    business_hours_only: bool,
    preferred_days: Vec<Weekday>,
    avoided_days: Vec<Weekday>,
    window: Option<(u32, u32)>,
}

fn weekday(s: &str) -> Option<Weekday> {
    s.parse().ok()
}

fn value<'a>(prefs: &'a [EffectivePreference], ty: PreferenceType, key: &str) -> Option<&'a serde_json::Value> {
    prefs.iter().find(|p| p.preference_type == ty && p.preference_key == key).map(|p| &p.value)
}

fn channel(s: &str) -> Option<Medium> {
    match s {
        "email" => Some(Medium::Email),
        "sms" => Some(Medium::Sms),
        "voice" => Some(Medium::Voice),
        _ => None,
    }
}

impl Rules {
    /// Minutes after local midnight during which contact is allowed on `day`, if any.
    fn window_on(&self, day: Weekday) -> Option<(u32, u32)> {
        if !self.preferred_days.is_empty() && !self.preferred_days.contains(&day) {
            return None;
        }
        if self.avoided_days.contains(&day) {
            return None;
        }
        let (mut lo, mut hi) = (0u32, 24 * 60);
        if self.business_hours_only {
            if matches!(day, Weekday::Sat | Weekday::Sun) {
                return None;
            }
            (lo, hi) = (lo.max(9 * 60), hi.min(17 * 60));
        }
        if let Some((a, b)) = self.window {
            (lo, hi) = (lo.max(a), hi.min(b));
        }
        (lo < hi).then_some((lo, hi))
    }

    /// The first allowed moment at or after `at`, within the horizon.
    fn next_allowed(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&self.tz);
        for offset in 0..=HORIZON_DAYS {
            let date = local.date_naive() + Duration::days(offset);
            let Some((lo, hi)) = self.window_on(date.weekday()) else { continue };
            let mut start = lo;
            if offset == 0 {
                let now_min = local.hour() * 60 + local.minute();
                if now_min >= hi {
                    continue;
                }
                if now_min >= lo {
                    return Some(at);
                }
                start = lo.max(now_min);
            }
            let time = NaiveTime::from_hms_opt(start / 60, start % 60, 0)?;
            // A start inside a daylight-saving gap moves to the first existing minute after it.
            let mut naive = date.and_time(time);
            for _ in 0..180 {
                match self.tz.from_local_datetime(&naive) {
                    chrono::LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
                    chrono::LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
                    chrono::LocalResult::None => naive += Duration::minutes(1),
                }
            }
        }
        None
    }
}

/// Builds the plan from the customer's effective general preferences and their consent: a
/// channel the customer opted out of is never offered, urgent or not (decisions.md item 24).
pub fn plan(
    prefs: &[EffectivePreference],
    consent: &crate::consent::ConsentState,
    at: DateTime<Utc>,
    urgency: Urgency,
) -> ContactPlan {
    use PreferenceType::{CommunicationMethod, Emergency, Scheduling};
    let mut reasons = Vec::new();
    let tz = value(prefs, CommunicationMethod, "timezone").and_then(|v| v.as_str()).and_then(|s| s.parse::<Tz>().ok());
    if tz.is_none() {
        reasons.push(format!("no timezone preference: using {}", DEFAULT_TIMEZONE.name()));
    }
    let tz = tz.unwrap_or(DEFAULT_TIMEZONE);

    let mut channels: Vec<Medium> = Vec::new();
    let preferred = value(prefs, CommunicationMethod, "preferred_channel").and_then(|v| v.as_str()).and_then(channel);
    let secondary = value(prefs, CommunicationMethod, "secondary_channel").and_then(|v| v.as_str()).and_then(channel);
    for c in [preferred, secondary].into_iter().flatten().chain([Medium::Email, Medium::Sms, Medium::Voice]) {
        if !channels.contains(&c) {
            channels.push(c);
        }
    }
    let avoided: Vec<Medium> = value(prefs, CommunicationMethod, "avoid_channels")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|c| c.as_str().and_then(channel)).collect())
        .unwrap_or_default();
    if !avoided.is_empty() {
        reasons.push(format!("avoids {}", avoided.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")));
        channels.retain(|c| !avoided.contains(c));
    }
    for state in &consent.channels {
        if let Some(why) = state.refusal() {
            reasons.push(why);
            channels.retain(|c| *c != state.channel.medium());
        }
    }
    let days = |key| -> Vec<Weekday> {
        value(prefs, Scheduling, key)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|d| d.as_str().and_then(weekday)).collect())
            .unwrap_or_default()
    };
    let window = value(prefs, Scheduling, "preferred_times")
        .and_then(|v| Some((parse_hhmm(v.get("start")?.as_str()?)?, parse_hhmm(v.get("end")?.as_str()?)?)));
    let rules = Rules {
        tz,
        business_hours_only: value(prefs, CommunicationMethod, "business_hours_only")
            == Some(&serde_json::Value::Bool(true)),
        preferred_days: days("preferred_days"),
        avoided_days: days("avoided_days"),
        window,
    };
    if rules.business_hours_only {
        reasons.push("business hours only: Monday to Friday, 09:00 to 17:00 local".into());
    }
    let names = |days: &[Weekday]| days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
    if !rules.preferred_days.is_empty() {
        reasons.push(format!("preferred days: {}", names(&rules.preferred_days)));
    }
    if !rules.avoided_days.is_empty() {
        reasons.push(format!("avoided days: {}", names(&rules.avoided_days)));
    }
    if let Some((a, b)) = rules.window {
        reasons.push(format!("preferred times: {:02}:{:02} to {:02}:{:02} local", a / 60, a % 60, b / 60, b % 60));
    }
    let after_hours_refused = value(prefs, Emergency, "after_hours_contact") == Some(&serde_json::Value::Bool(false));
    let ignore_windows = urgency == Urgency::Urgent && !after_hours_refused;
    if ignore_windows {
        reasons.push("urgent: time windows do not apply".into());
    }

    let mut result = ContactPlan {
        at,
        timezone: tz.name().to_string(),
        channels: channels.clone(),
        channel_now: None,
        next: None,
        reasons,
    };
    let Some(first) = channels.first().copied() else {
        result.reasons.push("every channel is avoided: no contact possible".into());
        return result;
    };
    let next = if ignore_windows { Some(at) } else { rules.next_allowed(at) };
    match next {
        Some(t) if t == at => result.channel_now = Some(first),
        Some(t) => {
            result.reasons.push("contact is not allowed now".into());
            result.next = Some(NextContact { at: t, local: t.with_timezone(&tz).to_rfc3339(), channel: first });
        }
        None => result.reasons.push(format!("no allowed moment in the next {HORIZON_DAYS} days")),
    }
    result
}
