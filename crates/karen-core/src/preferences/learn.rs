//! Learning from observations (issue 10, item 3). The rule, with `o` the observation's
//! confidence and `g = o / 2` its weight (also written up in docs/preferences.md):
//!
//! * no current value (or only an inactive/expired one): the observation becomes the value;
//! * agreeing (same `value`): confidence `c' = c + (1 - c) * g`, rounded up to the cent so it
//!   rises while below 1.00, bounded at 1.00; the source becomes the higher of the two;
//! * contradicting with a higher source: the observation supersedes the value at once;
//! * an explicit statement contradicting an explicit statement supersedes it at once: the
//!   customer's latest word is their preference;
//! * contradicting with an equal source: `c' = c * (1 - g)` (rounded down) and the contradicting
//!   value's support `s' = s + (1 - s) * g` (rounded up, `s` starting at 0 and kept in the row's
//!   `context.challenger`); once `s' > c'` it supersedes the value with confidence `s'`;
//! * contradicting with a lower source: nothing changes (an explicit statement is never replaced
//!   by a guess); the observation is kept in history as contradicted evidence.
//!
//! Every replaced version goes to history with its reason.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{PreferenceChange, PreferenceWrite};
use crate::enums::{HistoryReason, PreferenceMedium, PreferenceSource, PreferenceType};
use crate::model::{CustomerPreference, PreferenceHistory};

fn default_medium() -> PreferenceMedium {
    PreferenceMedium::General
}

/// Something the secretary noticed or was told about a customer's preference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// The customer (taken from the path over HTTP).
    #[serde(default)]
    pub customer_id: Uuid,
    /// Type.
    pub preference_type: PreferenceType,
    /// Key.
    pub preference_key: String,
    /// Medium, `general` by default.
    #[serde(default = "default_medium")]
    pub medium: PreferenceMedium,
    /// The observed value (the `value` of `preference_value`).
    pub value: serde_json::Value,
    /// Optional metadata to store with it.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    /// How it was obtained.
    pub source: PreferenceSource,
    /// How sure the observer is, 0.00 to 1.00.
    pub confidence: Decimal,
    /// The conversation it came from.
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
    /// When it stops applying.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What an observation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LearnOutcome {
    /// There was no value; now there is.
    Created,
    /// It agreed; confidence rose.
    Reinforced,
    /// It replaced the value.
    Superseded,
    /// It contradicted with equal source: the value stands with lower confidence.
    Weakened,
    /// It contradicted with a lower source: kept as evidence only.
    Rejected,
}

/// The result of an observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnResult {
    /// What happened.
    pub outcome: LearnOutcome,
    /// The current value of the key afterwards.
    pub preference: Option<CustomerPreference>,
}

fn cents_up(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::ToPositiveInfinity).min(Decimal::ONE)
}

fn cents_down(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::ToNegativeInfinity).max(Decimal::ZERO)
}

/// `c + (1 - c) * g`, rounded up to the cent, at most 1.
pub fn reinforce(c: Decimal, g: Decimal) -> Decimal {
    let raised = cents_up(c + (Decimal::ONE - c) * g);
    if raised == c && c < Decimal::ONE && g > Decimal::ZERO {
        (c + Decimal::new(1, 2)).min(Decimal::ONE)
    } else {
        raised
    }
}

/// `c * (1 - g)`, rounded down to the cent.
pub fn weaken(c: Decimal, g: Decimal) -> Decimal {
    cents_down(c * (Decimal::ONE - g))
}

impl Observation {
    /// The row this observation would be on its own.
    pub fn as_row(&self, now: DateTime<Utc>) -> CustomerPreference {
        let mut value = json!({ "value": self.value });
        if let Some(m) = &self.metadata {
            value["metadata"] = m.clone();
        }
        CustomerPreference {
            id: Uuid::now_v7(),
            customer_id: self.customer_id,
            preference_type: self.preference_type,
            preference_key: self.preference_key.clone(),
            preference_value: value,
            confidence_score: self.confidence,
            source: self.source,
            medium: self.medium,
            learned_from_interaction_id: self.conversation_id,
            learned_at: Some(now),
            expires_at: self.expires_at,
            created_at: now,
            updated_at: now,
            ..Default::default()
        }
    }

    fn caused_by(&self) -> Option<String> {
        self.conversation_id.map(|c| c.to_string()).or_else(|| Some("observation".into()))
    }
}

/// Decides what an observation does to the current row of its key.
pub fn decide(
    current: Option<CustomerPreference>,
    obs: &Observation,
    now: DateTime<Utc>,
) -> (PreferenceChange, LearnOutcome) {
    let observed = obs.as_row(now);
    let g = obs.confidence / Decimal::TWO;
    let archive = |p: &CustomerPreference, reason| PreferenceHistory::of(p, reason, now, obs.caused_by());
    let change = |write, history| PreferenceChange { write, history, summary: None };
    let Some(cur) = current else {
        return (change(PreferenceWrite::Upsert(Box::new(observed)), vec![]), LearnOutcome::Created);
    };
    // A row that no longer applies is replaced outright, keeping its identity.
    if !cur.is_effective_at(now) {
        let reason = if cur.is_active { HistoryReason::Expired } else { HistoryReason::Superseded };
        let next = CustomerPreference {
            id: cur.id,
            created_at: cur.created_at,
            created_by: cur.created_by.clone(),
            ..observed
        };
        return (change(PreferenceWrite::Upsert(Box::new(next)), vec![archive(&cur, reason)]), LearnOutcome::Created);
    }
    let agrees = cur.preference_value.get("value") == Some(&obs.value);
    if agrees {
        let mut next = cur.clone();
        next.confidence_score = reinforce(cur.confidence_score, g);
        let resourced = obs.source.rank() > cur.source.rank();
        if resourced {
            next.source = obs.source;
        }
        if let Some(m) = &obs.metadata {
            next.preference_value["metadata"] = m.clone();
        }
        next.learned_from_interaction_id = obs.conversation_id.or(cur.learned_from_interaction_id);
        next.learned_at = Some(now);
        if obs.expires_at.is_some() {
            next.expires_at = obs.expires_at;
        }
        next.updated_at = now;
        let history = if resourced { vec![archive(&cur, HistoryReason::Superseded)] } else { vec![] };
        return (change(PreferenceWrite::Upsert(Box::new(next)), history), LearnOutcome::Reinforced);
    }
    let supersede = |confidence: Decimal| {
        let next = CustomerPreference {
            id: cur.id,
            created_at: cur.created_at,
            created_by: cur.created_by.clone(),
            priority: cur.priority,
            confidence_score: confidence,
            ..observed.clone()
        };
        (
            change(PreferenceWrite::Upsert(Box::new(next)), vec![archive(&cur, HistoryReason::Superseded)]),
            LearnOutcome::Superseded,
        )
    };
    let restated = obs.source == PreferenceSource::Explicit && cur.source == PreferenceSource::Explicit;
    if obs.source.rank() > cur.source.rank() || restated {
        return supersede(obs.confidence);
    }
    // Contradicting evidence is filed under the preference it contradicts.
    let evidence = PreferenceHistory {
        preference_id: cur.id,
        ..PreferenceHistory::of(&observed, HistoryReason::Contradicted, now, obs.caused_by())
    };
    if obs.source.rank() < cur.source.rank() {
        return (change(PreferenceWrite::Keep, vec![evidence]), LearnOutcome::Rejected);
    }
    // Equal source: the value weakens, the challenger gathers support.
    let challenger = cur.context.as_ref().and_then(|c| c.get("challenger"));
    let prior = match challenger {
        Some(ch) if ch.get("value") == Some(&obs.value) => {
            ch.get("support").and_then(|s| s.as_str()).and_then(|s| s.parse::<Decimal>().ok()).unwrap_or(Decimal::ZERO)
        }
        _ => Decimal::ZERO,
    };
    let support = reinforce(prior, g);
    let weakened = weaken(cur.confidence_score, g);
    if support > weakened {
        return supersede(support);
    }
    let mut next = cur.clone();
    next.confidence_score = weakened;
    let mut context = match cur.context.clone() {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    context.insert("challenger".into(), json!({"value": obs.value, "support": support.to_string()}));
    next.context = Some(serde_json::Value::Object(context));
    next.updated_at = now;
    (change(PreferenceWrite::Upsert(Box::new(next)), vec![evidence]), LearnOutcome::Weakened)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn reinforcement_rises_and_is_bounded() {
        let mut c = d("0.50");
        let mut seen = vec![c];
        for _ in 0..60 {
            c = reinforce(c, d("0.4"));
            seen.push(c);
        }
        assert!(seen.windows(2).all(|w| w[1] > w[0] || w[1] == Decimal::ONE), "{seen:?}");
        assert_eq!(c, Decimal::ONE);
        assert_eq!(reinforce(d("0.50"), d("0.45")), d("0.73"), "0.5 + 0.5 * 0.45 = 0.725, rounded up");
        assert_eq!(reinforce(d("0.99"), d("0.001")), d("1.00"));
        assert_eq!(weaken(d("0.80"), d("0.45")), d("0.44"));
    }
}
