//! Which value wins (decisions.md item 9). For a (type, key) asked with medium M the candidates
//! are the row for M and the 'general' row (without a medium: the general row alone). A
//! candidate must be active and unexpired (a row expiring exactly now is expired). The higher
//! source wins (explicit > learned > inferred > default); on equal source M's row wins.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::{PreferenceMedium, PreferenceSource, PreferenceType};
use crate::model::CustomerPreference;

/// A candidate row, as the answer reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The row's id.
    pub preference_id: Uuid,
    /// Its medium.
    pub medium: PreferenceMedium,
    /// Its value (`{"value": ..., "metadata": ...}`).
    pub preference_value: serde_json::Value,
    /// Its source.
    pub source: PreferenceSource,
    /// Its confidence.
    pub confidence_score: Decimal,
    /// The conversation it was learned from.
    pub learned_from_interaction_id: Option<Uuid>,
    /// When it was learned.
    pub learned_at: Option<DateTime<Utc>>,
    /// Why it won or lost, in words.
    pub why: String,
}

/// The winning value of one (type, key), with the losing candidate if there was one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectivePreference {
    /// Type.
    pub preference_type: PreferenceType,
    /// Key.
    pub preference_key: String,
    /// The winner's `value`.
    pub value: serde_json::Value,
    /// The row that won.
    pub winner: Candidate,
    /// The other candidate, if any, and why it lost.
    pub loser: Option<Candidate>,
}

fn candidate(p: &CustomerPreference, why: String) -> Candidate {
    Candidate {
        preference_id: p.id,
        medium: p.medium,
        preference_value: p.preference_value.clone(),
        source: p.source,
        confidence_score: p.confidence_score,
        learned_from_interaction_id: p.learned_from_interaction_id,
        learned_at: p.learned_at,
        why,
    }
}

fn unavailable(p: &CustomerPreference, now: DateTime<Utc>) -> Option<String> {
    if !p.is_active {
        return Some("inactive".into());
    }
    match p.expires_at {
        Some(e) if e <= now => Some(format!("expired at {}", e.to_rfc3339())),
        _ => None,
    }
}

/// Picks the winner of two or one candidates (`specific` is M's row, `general` the general row).
pub fn pick(
    specific: Option<&CustomerPreference>,
    general: Option<&CustomerPreference>,
    now: DateTime<Utc>,
) -> Option<EffectivePreference> {
    fn live(p: Option<&CustomerPreference>, now: DateTime<Utc>) -> Option<&CustomerPreference> {
        p.filter(|p| unavailable(p, now).is_none())
    }
    let (winner, loser, win_why, lose_why) = match (live(specific, now), live(general, now)) {
        (None, None) => return None,
        (Some(s), None) => {
            let lost = general.map(|g| (g, format!("the general row is {}", unavailable(g, now).unwrap_or_default())));
            (s, lost.as_ref().map(|l| l.0), "the only available candidate".to_string(), lost.map(|l| l.1))
        }
        (None, Some(g)) => {
            let lost =
                specific.map(|s| (s, format!("the {} row is {}", s.medium, unavailable(s, now).unwrap_or_default())));
            (g, lost.as_ref().map(|l| l.0), "the only available candidate".to_string(), lost.map(|l| l.1))
        }
        (Some(s), Some(g)) => {
            if g.source.rank() > s.source.rank() {
                let why = format!("{} outranks {}", g.source, s.source);
                (g, Some(s), why.clone(), Some(why))
            } else if s.source.rank() > g.source.rank() {
                let why = format!("{} outranks {}", s.source, g.source);
                (s, Some(g), why.clone(), Some(why))
            } else {
                let why = format!("equal source ({}); the {} row is more specific than general", s.source, s.medium);
                (s, Some(g), why.clone(), Some(why))
            }
        }
    };
    Some(EffectivePreference {
        preference_type: winner.preference_type,
        preference_key: winner.preference_key.clone(),
        value: winner.preference_value.get("value").cloned().unwrap_or(serde_json::Value::Null),
        winner: candidate(winner, win_why),
        loser: loser.map(|l| candidate(l, lose_why.unwrap_or_default())),
    })
}

/// The effective value of every (type, key) among `rows` (one customer's), asked with `medium`
/// (None: general only), ordered by type then key.
pub fn resolve(
    rows: &[CustomerPreference],
    medium: Option<PreferenceMedium>,
    now: DateTime<Utc>,
) -> Vec<EffectivePreference> {
    let mut keys: Vec<(PreferenceType, &str)> =
        rows.iter().map(|r| (r.preference_type, r.preference_key.as_str())).collect();
    keys.sort();
    keys.dedup();
    let specific_medium = medium.filter(|m| *m != PreferenceMedium::General);
    keys.into_iter()
        .filter_map(|(ty, key)| {
            let find = |m: PreferenceMedium| {
                rows.iter().find(|r| r.preference_type == ty && r.preference_key == key && r.medium == m)
            };
            let specific = specific_medium.and_then(find);
            pick(specific, find(PreferenceMedium::General), now)
        })
        .collect()
}
