//! The customer summary columns follow the effective 'general' preferences (issue 10, item 4):
//! `preferred_contact_method` ← communication_method.preferred_channel,
//! `preferred_contact_time` ← scheduling.preferred_times as `HH:MM-HH:MM`,
//! `communication_style` ← communication_style.formality_level.
//! Asked without a medium only the 'general' row is a candidate (decisions.md item 9), so the
//! column depends on that one row and is recomputed whenever it is written.

use chrono::{DateTime, Utc};

use super::SummaryUpdate;
use crate::enums::{PreferenceMedium, PreferenceType};
use crate::model::CustomerPreference;

/// The customer columns the engine maintains; backends put no other name into SQL.
pub const COLUMNS: [&str; 3] = ["preferred_contact_method", "preferred_contact_time", "communication_style"];

/// `column` if it is one of [`COLUMNS`], else an error (a guard before it is put in SQL).
pub fn checked_column(column: &str) -> crate::StoreResult<&str> {
    if COLUMNS.contains(&column) {
        Ok(column)
    } else {
        Err(crate::StoreError::invalid("summary", format!("{column} is not a summary column")))
    }
}

/// The summary column fed by (type, key), if any.
pub fn column_of(ty: PreferenceType, key: &str) -> Option<&'static str> {
    match (ty, key) {
        (PreferenceType::CommunicationMethod, "preferred_channel") => Some("preferred_contact_method"),
        (PreferenceType::Scheduling, "preferred_times") => Some("preferred_contact_time"),
        (PreferenceType::CommunicationStyle, "formality_level") => Some("communication_style"),
        _ => None,
    }
}

/// The column text of an effective row.
fn text_of(p: &CustomerPreference) -> Option<String> {
    let v = &p.preference_value["value"];
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => {
            match (o.get("start").and_then(|s| s.as_str()), o.get("end").and_then(|s| s.as_str())) {
                (Some(a), Some(b)) => Some(format!("{a}-{b}")),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The summary update after the general row of a key became `row` (None: deleted).
pub fn after_write(
    ty: PreferenceType,
    key: &str,
    medium: PreferenceMedium,
    row: Option<&CustomerPreference>,
    now: DateTime<Utc>,
) -> Option<SummaryUpdate> {
    if medium != PreferenceMedium::General {
        return None;
    }
    let column = column_of(ty, key)?;
    let value = row.filter(|r| r.is_effective_at(now)).and_then(text_of);
    Some(SummaryUpdate { column, value, at: now })
}
